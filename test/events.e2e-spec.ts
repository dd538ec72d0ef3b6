import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, logIn, makeAdmin, signUp } from './support/auth.js';
import { createTestDatabase } from './support/database.js';
import { realPostgres, REAL_REDIS_URL } from './support/env.js';
import { type Spawned, startMain } from './support/process.js';
import { SseClient } from './support/sse.js';

const MAX_STREAMS = 5;

describe('GET /events', () => {
  let t: TestApp;
  let port: number;
  const open: SseClient[] = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { EVENTS_HEARTBEAT_MS: '100', EVENTS_MAX_STREAMS_PER_USER: String(MAX_STREAMS) } });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  afterAll(() => t.close());

  async function stream(path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = await SseClient.open(port, path, headers);
    open.push(client);
    return client;
  }

  const newDocument = async (account: Account, title: string) =>
    (await t.http.post('/documents').set(bearer(account.access)).send({ title, content: 'x' }).expect(201)).body;

  it('delivers each document event, with an id, to every user it concerns and no one else', async () => {
    const [owner, friend, stranger] = [await signUp(t), await signUp(t), await signUp(t)];
    const [mine, theirs, other] = [
      await stream('/events', bearer(owner.access)),
      await stream('/events', bearer(friend.access)),
      await stream('/events', bearer(stranger.access)),
    ];
    expect(mine.status).toBe(200);
    expect(mine.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(mine.response.headers['x-request-id']).toBeTruthy();

    const doc = await newDocument(owner, 'evented');
    expect(await mine.next((e) => e.event === 'document.created')).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/),
      event: 'document.created',
      data: { documentId: doc.id, version: 1 },
    });
    const share = (
      await t.http
        .post(`/documents/${doc.id}/shares`)
        .set(bearer(owner.access))
        .send({ email: friend.email, role: 'editor' })
        .expect(201)
    ).body;
    for (const client of [mine, theirs]) {
      expect((await client.next((e) => e.event === 'document.shared')).data).toEqual({
        documentId: doc.id,
        shareId: share.id,
        userId: friend.id,
        role: 'editor',
      });
    }
    await t.http.patch(`/documents/${doc.id}`).set(bearer(friend.access)).send({ title: 'edited' }).expect(200);
    for (const client of [mine, theirs]) {
      expect((await client.next((e) => e.event === 'document.updated')).data).toEqual({
        documentId: doc.id,
        version: 2,
      });
    }
    await t.http.delete(`/documents/${doc.id}/shares/${share.id}`).set(bearer(owner.access)).expect(204);
    for (const client of [mine, theirs]) await client.next((e) => e.event === 'document.unshared');
    await t.http.delete(`/documents/${doc.id}`).set(bearer(owner.access)).expect(204);
    expect((await mine.next((e) => e.event === 'document.deleted')).data).toEqual({ documentId: doc.id });

    // The stranger's own event arrives after all of those were published, and is all they got.
    const own = await newDocument(stranger, 'their own');
    await other.next((e) => e.event === 'document.created');
    expect(other.events).toEqual([expect.objectContaining({ data: { documentId: own.id, version: 1 } })]);
    // The unshared friend heard nothing of the deletion.
    expect(theirs.events.map((e) => e.event)).toEqual(['document.shared', 'document.updated', 'document.unshared']);
    // Ids increase.
    const idsInOrder = mine.events.map((e) => e.id!.split('-').map(Number));
    for (let i = 1; i < idsInOrder.length; i++) {
      const [[pm, ps], [m, s]] = [idsInOrder[i - 1], idsInOrder[i]];
      expect(m > pm || (m === pm && s > ps)).toBe(true);
    }
  });

  it('sends a comment line every EVENTS_HEARTBEAT_MS', async () => {
    const user = await signUp(t);
    const client = await stream('/events', bearer(user.access));
    await client.commentsAtLeast(2);
    expect(client.comments.slice(0, 2)).toEqual(['keep-alive', 'keep-alive']);
  });

  it('takes a short-lived stream ticket (for EventSource), and refuses anything else with 401', async () => {
    const user = await signUp(t);
    const ticket = await t.http.post('/events/tickets').set(bearer(user.access)).expect(201);
    expect(ticket.body).toEqual({ ticket: expect.any(String), expiresIn: 60 });
    const client = await stream(`/events?ticket=${encodeURIComponent(ticket.body.ticket)}`);
    expect(client.status).toBe(200);
    const doc = await newDocument(user, 'via ticket');
    expect((await client.next((e) => e.event === 'document.created')).data).toEqual({ documentId: doc.id, version: 1 });

    const [payload, signature] = ticket.body.ticket.split('.');
    const forged = `${Buffer.from(JSON.stringify({ u: user.id, s: 'x', e: 9_999_999_999 })).toString('base64url')}.${signature}`;
    for (const [name, path, headers] of [
      ['no credential', '/events', {}],
      ['a garbled ticket', '/events?ticket=nonsense', {}],
      ['a forged ticket', `/events?ticket=${forged}`, {}],
      ['a truncated ticket', `/events?ticket=${payload}.`, {}],
      ['an access token as a ticket', `/events?ticket=${user.access}`, {}],
      ['a bad bearer token', '/events', { authorization: 'Bearer nope' }],
    ] as Array<[string, string, Record<string, string>]>) {
      const refused = await t.http.get(path).set(headers);
      expect({ name, status: refused.status, type: refused.headers['content-type'] }).toEqual({
        name,
        status: 401,
        type: expect.stringContaining('application/problem+json'),
      });
    }
  });

  it('a stream ticket opens one stream, once: used again (even after that stream closed) it is 401', async () => {
    const user = await signUp(t);
    const { ticket } = (await t.http.post('/events/tickets').set(bearer(user.access)).expect(201)).body;
    const path = `/events?ticket=${encodeURIComponent(ticket)}`;
    const first = await stream(path);
    expect(first.status).toBe(200);
    const again = await t.http.get(path).expect(401);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    first.close();
    await first.ended;
    await t.http.get(path).expect(401);
    // A new ticket opens a new stream.
    const fresh = (await t.http.post('/events/tickets').set(bearer(user.access)).expect(201)).body.ticket;
    expect((await stream(`/events?ticket=${encodeURIComponent(fresh)}`)).status).toBe(200);
  });

  it('deleting a personal access token closes the streams it opened at once; the user’s other streams stay', async () => {
    const user = await signUp(t);
    const created = (
      await t.http
        .post('/users/me/tokens')
        .set(bearer(user.access))
        .send({ name: 'watcher', scopes: ['documents:read'] })
        .expect(201)
    ).body;
    const byToken = await stream('/events', bearer(created.token));
    const bySession = await stream('/events', bearer(user.access));
    expect([byToken.status, bySession.status]).toEqual([200, 200]);
    await t.http.delete(`/users/me/tokens/${created.id}`).set(bearer(user.access)).expect(204);
    expect((await byToken.next((e) => e.event === 'token.revoked')).data).toEqual({ tokenId: created.id });
    await byToken.ended;
    const doc = await newDocument(user, 'after the token went');
    expect((await bySession.next((e) => e.event === 'document.created')).data).toEqual({
      documentId: doc.id,
      version: 1,
    });
    expect(bySession.hasEnded).toBe(false);
    expect(bySession.events.map((e) => e.event)).toEqual(['document.created']);
    await t.http.get('/events').set(bearer(created.token)).expect(401);
  });

  it('disabling an account closes the streams its personal access tokens opened', async () => {
    const [admin, user] = [await signUp(t), await signUp(t)];
    await makeAdmin(t, admin.id);
    const created = (
      await t.http
        .post('/users/me/tokens')
        .set(bearer(user.access))
        .send({ name: 'script', scopes: ['documents:read'] })
        .expect(201)
    ).body;
    const byToken = await stream('/events', bearer(created.token));
    expect(byToken.status).toBe(200);
    await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ disabled: true }).expect(200);
    expect((await byToken.next((e) => e.event === 'token.revoked')).data).toEqual({ tokenId: created.id });
    await byToken.ended;
    await t.http.get('/events').set(bearer(created.token)).expect(401);
  });

  it('takes a personal access token with documents:read, refuses one without it (403)', async () => {
    const user = await signUp(t);
    const token = async (scopes: string[]) =>
      (await t.http.post('/users/me/tokens').set(bearer(user.access)).send({ name: scopes[0], scopes }).expect(201))
        .body.token as string;
    const client = await stream('/events', bearer(await token(['documents:read'])));
    expect(client.status).toBe(200);
    const doc = await newDocument(user, 'seen by token');
    expect((await client.next((e) => e.event === 'document.created')).data).toEqual({ documentId: doc.id, version: 1 });
    const refused = await t.http
      .get('/events')
      .set(bearer(await token(['profile:read'])))
      .expect(403);
    expect(refused.body.type).toBe('urn:ultrai:problem:insufficient-scope');
  });

  it(`allows ${MAX_STREAMS} streams per user, then 429`, async () => {
    const user = await signUp(t);
    for (let i = 0; i < MAX_STREAMS; i++) expect((await stream('/events', bearer(user.access))).status).toBe(200);
    const refused = await t.http.get('/events').set(bearer(user.access)).expect(429);
    expect(refused.body).toMatchObject({ type: 'urn:ultrai:problem:too-many-streams', status: 429 });
    expect(refused.headers['retry-after']).toBeDefined();
    // Another user is not affected.
    expect((await stream('/events', bearer((await signUp(t)).access))).status).toBe(200);
  });

  it('a revoked session’s stream gets session.revoked and closes at once; the user’s other session stays', async () => {
    const user = await signUp(t);
    const second = await logIn(t, user.email, user.password);
    const doomed = await stream('/events', bearer(user.access));
    const kept = await stream('/events', bearer(second.access));
    await t.http.post('/auth/logout').set(bearer(user.access)).expect(204);
    expect((await doomed.next((e) => e.event === 'session.revoked')).data).toEqual({ sessionId: expect.any(String) });
    await doomed.ended;
    const doc = await newDocument({ ...user, ...second }, 'after logout');
    await kept.next((e) => e.event === 'document.created');
    expect(kept.hasEnded).toBe(false);
    expect(kept.events.map((e) => e.event)).toEqual(['document.created']);
    expect(kept.events[0].data).toEqual({ documentId: doc.id, version: 1 });
    // And the revoked token cannot open a new one.
    await t.http.get('/events').set(bearer(user.access)).expect(401);
  });

  it('replays what was missed after Last-Event-ID, or sends reload when that is too old', async () => {
    const user = await signUp(t);
    const first = await stream('/events', bearer(user.access));
    const doc = await newDocument(user, 'replayed');
    const seen = await first.next((e) => e.event === 'document.created');
    first.close();
    await t.http.patch(`/documents/${doc.id}`).set(bearer(user.access)).send({ title: 'two' }).expect(200);
    await t.http.patch(`/documents/${doc.id}`).set(bearer(user.access)).send({ title: 'three' }).expect(200);

    const again = await stream('/events', { ...bearer(user.access), 'last-event-id': seen.id! });
    await again.next((e) => e.event === 'document.updated' && (e.data as { version: number }).version === 3);
    expect(again.events.map((e) => [e.event, e.data])).toEqual([
      ['document.updated', { documentId: doc.id, version: 2 }],
      ['document.updated', { documentId: doc.id, version: 3 }],
    ]);

    // A new EventSource cannot set the header: the query parameter does the same.
    const viaQuery = await stream(`/events?lastEventId=${seen.id}`, bearer(user.access));
    await viaQuery.next((e) => e.event === 'document.updated' && (e.data as { version: number }).version === 3);
    expect(viaQuery.events).toHaveLength(2);

    const stale = await stream('/events', { ...bearer(user.access), 'last-event-id': '1000-0' });
    expect(await stale.next((e) => e.event === 'reload')).toEqual({
      id: expect.any(String),
      event: 'reload',
      data: {},
    });
  });
});

describe('GET /events while the server drains', () => {
  const running: Spawned[] = [];
  afterAll(() => {
    for (const server of running) server.child.kill('SIGKILL');
  });

  it('SIGTERM ends open streams cleanly (clients reconnect elsewhere) and the process exits 0', async () => {
    const db = await createTestDatabase();
    try {
      const { server, base } = await startMain({ ...db.env }, running);
      const email = `drain.${Date.now()}@example.com`;
      await fetch(`${base}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, username: `drain${Date.now() % 100000}`, password: 'a long enough password' }),
      });
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'a long enough password' }),
      });
      const { access_token: token } = (await login.json()) as { access_token: string };
      const client = await SseClient.open(Number(new URL(base).port), '/events', bearer(token));
      expect(client.status).toBe(200);
      server.child.kill('SIGTERM');
      await client.ended;
      // Ended by the server with the chunked terminator: a clean end, not a reset.
      expect(client.response.complete).toBe(true);
      expect((await server.exit).code).toBe(0);
      expect(server.output()).toMatch(/Shut down cleanly/);
    } finally {
      await db.drop();
    }
  });
});

const TWO_INSTANCE_ENV = { EVENTS_HEARTBEAT_MS: '200', EVENTS_MAX_STREAMS_PER_USER: String(MAX_STREAMS) };

if (realPostgres && REAL_REDIS_URL) {
  describe('event streams on two instances sharing PostgreSQL and Redis', () => {
    let one: TestApp;
    let two: TestApp;
    const ports: number[] = [];
    const open: SseClient[] = [];
    const running: Spawned[] = [];

    beforeAll(async () => {
      one = await startTestApp({ env: TWO_INSTANCE_ENV });
      two = await startTestApp({ db: one.db, env: TWO_INSTANCE_ENV });
      for (const app of [one, two]) {
        await app.app.listen(0, '127.0.0.1');
        ports.push((app.app.getHttpServer().address() as AddressInfo).port);
      }
    });
    afterEach(() => {
      for (const client of open.splice(0)) client.close();
    });
    afterAll(async () => {
      for (const server of running) server.child.kill('SIGKILL');
      await two?.app.close();
      await one?.close();
    });

    async function stream(instance: 0 | 1, path: string, headers: Record<string, string> = {}) {
      const client = await SseClient.open(ports[instance], path, headers);
      open.push(client);
      return client;
    }
    const ticket = async (account: Account) =>
      (await one.http.post('/events/tickets').set(bearer(account.access)).expect(201)).body.ticket as string;

    it(`allows ${MAX_STREAMS} streams per user across both instances, then 429 on either; closing one frees a place`, async () => {
      const user = await signUp(one);
      const clients = [];
      for (let i = 0; i < MAX_STREAMS; i++) {
        const client = await stream(i % 2 === 0 ? 0 : 1, '/events', bearer(user.access));
        expect(client.status).toBe(200);
        clients.push(client);
      }
      for (const app of [one, two]) {
        const refused = await app.http.get('/events').set(bearer(user.access)).expect(429);
        expect(refused.body).toMatchObject({ type: 'urn:ultrai:problem:too-many-streams', status: 429 });
        expect(refused.headers['retry-after']).toBeDefined();
      }
      // Another user is not affected.
      expect((await stream(1, '/events', bearer((await signUp(one)).access))).status).toBe(200);
      // A stream closed on the first instance gives its place back for the second.
      clients[0].close();
      let reopened: SseClient | undefined;
      for (let i = 0; i < 100 && reopened?.status !== 200; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        reopened = await stream(1, '/events', bearer(user.access));
      }
      expect(reopened!.status).toBe(200);
      await two.http.get('/events').set(bearer(user.access)).expect(429);
    });

    it('a stream ticket used on one instance is refused (401) on the other', async () => {
      const user = await signUp(one);
      const path = `/events?ticket=${encodeURIComponent(await ticket(user))}`;
      expect((await stream(0, path)).status).toBe(200);
      const again = await two.http.get(path).expect(401);
      expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
      await one.http.get(path).expect(401);
    });

    it('deleting a personal access token on one instance closes its stream on the other at once', async () => {
      const user = await signUp(one);
      const created = (
        await one.http
          .post('/users/me/tokens')
          .set(bearer(user.access))
          .send({ name: 'remote watcher', scopes: ['documents:read'] })
          .expect(201)
      ).body;
      const onTwo = await stream(1, '/events', bearer(created.token));
      const keptOnTwo = await stream(1, '/events', bearer(user.access));
      expect([onTwo.status, keptOnTwo.status]).toEqual([200, 200]);
      await one.http.delete(`/users/me/tokens/${created.id}`).set(bearer(user.access)).expect(204);
      expect((await onTwo.next((e) => e.event === 'token.revoked', 'token.revoked')).data).toEqual({
        tokenId: created.id,
      });
      await onTwo.ended;
      await one.http
        .post('/documents')
        .set(bearer(user.access))
        .send({ title: 'still here', content: 'x' })
        .expect(201);
      await keptOnTwo.next((e) => e.event === 'document.created', 'document.created');
      expect(keptOnTwo.hasEnded).toBe(false);
      await two.http.get('/events').set(bearer(created.token)).expect(401);
    });

    it('the streams of an instance that died stop counting after their lease (three heartbeats and 5 s)', async () => {
      const user = await signUp(one);
      const { server, base } = await startMain(
        {
          ...one.db.env,
          REDIS_URL: REAL_REDIS_URL!,
          REDIS_KEY_PREFIX: `test:${one.db.id}:`,
          LOG_LEVEL: 'warn',
          ...TWO_INSTANCE_ENV,
        },
        running,
      );
      const port = Number(new URL(base).port);
      for (let i = 0; i < MAX_STREAMS; i++) {
        const client = await SseClient.open(port, '/events', bearer(user.access));
        open.push(client);
        expect(client.status).toBe(200);
      }
      await one.http.get('/events').set(bearer(user.access)).expect(429);
      // The instance dies without closing anything (no chance to give the places back).
      server.child.kill('SIGKILL');
      await server.exit;
      let status = 429;
      for (let i = 0; i < 300 && status === 429; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const client = await stream(0, '/events', bearer(user.access));
        status = client.status;
      }
      expect(status).toBe(200);
    });
  });
} else {
  process.stdout.write(
    'events: the two-instance tests are not registered: they need DATABASE_URL and REDIS_URL ' +
      '(the embedded database admits one process, and a count in memory is per instance)\n',
  );
}
