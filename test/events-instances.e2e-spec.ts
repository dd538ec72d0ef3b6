import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { realPostgres, REAL_REDIS_URL } from './support/env.js';
import { type Spawned, startMain } from './support/process.js';
import { SseClient } from './support/sse.js';

const MAX_STREAMS = 5;
const ENV = { EVENTS_HEARTBEAT_MS: '200', EVENTS_MAX_STREAMS_PER_USER: String(MAX_STREAMS) };

if (realPostgres && REAL_REDIS_URL) {
  describe('event streams on two instances sharing PostgreSQL and Redis', () => {
    let one: TestApp;
    let two: TestApp;
    const ports: number[] = [];
    const open: SseClient[] = [];
    const running: Spawned[] = [];

    beforeAll(async () => {
      one = await startTestApp({ env: ENV });
      two = await startTestApp({ db: one.db, env: ENV });
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
          ...ENV,
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
    'events-instances: not registered: the two-instance tests need DATABASE_URL and REDIS_URL ' +
      '(the embedded database admits one process, and a count in memory is per instance)\n',
  );
}
