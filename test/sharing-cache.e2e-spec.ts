import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { realPostgres, REAL_REDIS_URL } from './support/env.js';
import { SseClient } from './support/sse.js';

/** Reads `path` until it is a HIT, so a later MISS with new content can only come from an invalidation. */
async function warm(t: TestApp, path: string, account: Account) {
  await t.http.get(path).set(bearer(account.access)).expect(200);
  const hit = await t.http.get(path).set(bearer(account.access)).expect(200);
  expect({ path, cache: hit.headers['x-cache'] }).toEqual({ path, cache: 'HIT' });
  return hit.body;
}

const ids = (body: { items: Array<{ id: string }> }) => body.items.map((d) => d.id);

/**
 * Every kind of change to a shared document, seen at once by every user it concerns,
 * although each of them had the old answer cached: `reader` reads through `readerApp`,
 * changes are made through `writerApp` (the same instance, or another one).
 */
function cacheCorrectness(apps: () => { writerApp: TestApp; readerApp: TestApp }) {
  let owner: Account;
  let reader: Account;
  beforeAll(async () => {
    const { writerApp } = apps();
    [owner, reader] = [await signUp(writerApp), await signUp(writerApp)];
  });

  it('new share, edit by owner, edit by editor, role change, revocation, deletion', async () => {
    const { writerApp: w, readerApp: r } = apps();
    const doc = (
      await w.http.post('/documents').set(bearer(owner.access)).send({ title: 'v1', content: 'x' }).expect(201)
    ).body;

    // A new share: the reader's cached (empty) shared list shows it at once.
    expect(ids(await warm(r, '/documents?scope=shared', reader))).toEqual([]);
    const share = (
      await w.http
        .post(`/documents/${doc.id}/shares`)
        .set(bearer(owner.access))
        .send({ email: reader.email, role: 'editor' })
        .expect(201)
    ).body;
    expect(ids((await r.http.get('/documents?scope=shared').set(bearer(reader.access)).expect(200)).body)).toEqual([
      doc.id,
    ]);

    // The owner changes it: the reader's cached item and list change at once.
    expect((await warm(r, `/documents/${doc.id}`, reader)).title).toBe('v1');
    await warm(r, '/documents?scope=all', reader);
    await w.http.patch(`/documents/${doc.id}`).set(bearer(owner.access)).send({ title: 'v2' }).expect(200);
    expect((await r.http.get(`/documents/${doc.id}`).set(bearer(reader.access)).expect(200)).body.title).toBe('v2');
    const all = (await r.http.get('/documents?scope=all').set(bearer(reader.access)).expect(200)).body;
    expect(all.items.find((d: { id: string }) => d.id === doc.id).title).toBe('v2');

    // The editor changes it: the owner's cached item and list change at once.
    expect((await warm(w, `/documents/${doc.id}`, owner)).title).toBe('v2');
    await warm(w, '/documents', owner);
    await r.http
      .patch(`/documents/${doc.id}`)
      .set(bearer(reader.access))
      .send({ tags: ['edited'] })
      .expect(200);
    expect((await w.http.get(`/documents/${doc.id}`).set(bearer(owner.access)).expect(200)).body.tags).toEqual([
      'edited',
    ]);
    const owned = (await w.http.get('/documents').set(bearer(owner.access)).expect(200)).body;
    expect(owned.items.find((d: { id: string }) => d.id === doc.id).tags).toEqual(['edited']);

    // The role changes: the reader's cached item says so at once.
    expect((await warm(r, `/documents/${doc.id}`, reader)).access).toBe('editor');
    await w.http
      .patch(`/documents/${doc.id}/shares/${share.id}`)
      .set(bearer(owner.access))
      .send({ role: 'viewer' })
      .expect(200);
    expect((await r.http.get(`/documents/${doc.id}`).set(bearer(reader.access)).expect(200)).body.access).toBe(
      'viewer',
    );

    // Revoked: gone at once from the reader's cached item and lists.
    await warm(r, `/documents/${doc.id}`, reader);
    await warm(r, '/documents?scope=shared', reader);
    await w.http.delete(`/documents/${doc.id}/shares/${share.id}`).set(bearer(owner.access)).expect(204);
    await r.http.get(`/documents/${doc.id}`).set(bearer(reader.access)).expect(404);
    expect(ids((await r.http.get('/documents?scope=shared').set(bearer(reader.access)).expect(200)).body)).toEqual([]);

    // Shared again, then deleted by the owner: gone at once for the reader.
    await w.http
      .post(`/documents/${doc.id}/shares`)
      .set(bearer(owner.access))
      .send({ userId: reader.id, role: 'viewer' })
      .expect(201);
    await warm(r, `/documents/${doc.id}`, reader);
    expect(ids(await warm(r, '/documents?scope=shared', reader))).toEqual([doc.id]);
    await w.http.delete(`/documents/${doc.id}`).set(bearer(owner.access)).expect(204);
    await r.http.get(`/documents/${doc.id}`).set(bearer(reader.access)).expect(404);
    expect(ids((await r.http.get('/documents?scope=shared').set(bearer(reader.access)).expect(200)).body)).toEqual([]);
  });

  it('the owner deletes their account: their shared documents are gone at once for the reader', async () => {
    const { writerApp: w, readerApp: r } = apps();
    const [leaving, staying] = [await signUp(w), await signUp(w)];
    const doc = (
      await w.http.post('/documents').set(bearer(leaving.access)).send({ title: 'orphan', content: 'x' }).expect(201)
    ).body;
    await w.http
      .post(`/documents/${doc.id}/shares`)
      .set(bearer(leaving.access))
      .send({ email: staying.email, role: 'viewer' })
      .expect(201);
    expect(ids(await warm(r, '/documents?scope=shared', staying))).toEqual([doc.id]);
    await warm(r, `/documents/${doc.id}`, staying);
    await w.http.delete('/users/me').set(bearer(leaving.access)).send({ password: leaving.password }).expect(204);
    expect(ids((await r.http.get('/documents?scope=shared').set(bearer(staying.access)).expect(200)).body)).toEqual([]);
    await r.http.get(`/documents/${doc.id}`).set(bearer(staying.access)).expect(404);
  });
}

describe('response cache with shared documents (one instance)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());
  cacheCorrectness(() => ({ writerApp: t, readerApp: t }));
});

if (realPostgres && REAL_REDIS_URL) {
  describe('two instances sharing PostgreSQL and Redis (real PostgreSQL and Redis)', () => {
    let one: TestApp;
    let two: TestApp;
    let portTwo: number;
    beforeAll(async () => {
      one = await startTestApp();
      two = await startTestApp({ db: one.db });
      await two.app.listen(0, '127.0.0.1');
      portTwo = (two.app.getHttpServer().address() as AddressInfo).port;
    });
    afterAll(async () => {
      await two.app.close();
      await one.close();
    });

    cacheCorrectness(() => ({ writerApp: one, readerApp: two }));

    it('A shares on one instance: B sees it in scope=shared and gets the event on the other', async () => {
      const [a, b] = [await signUp(one), await signUp(one)];
      const doc = (
        await one.http.post('/documents').set(bearer(a.access)).send({ title: 'across', content: 'x' }).expect(201)
      ).body;
      expect(ids(await warm(two, '/documents?scope=shared', b))).toEqual([]);
      const stream = await SseClient.open(portTwo, '/events', bearer(b.access));
      try {
        expect(stream.status).toBe(200);
        const shared = await one.http
          .post(`/documents/${doc.id}/shares`)
          .set(bearer(a.access))
          .send({ email: b.email, role: 'viewer' })
          .expect(201);
        const event = await stream.next((e) => e.event === 'document.shared', 'document.shared');
        expect(event).toEqual({
          id: expect.stringMatching(/^\d+-\d+$/),
          event: 'document.shared',
          data: { documentId: doc.id, shareId: shared.body.id, userId: b.id, role: 'viewer' },
        });
        const list = await two.http.get('/documents?scope=shared').set(bearer(b.access)).expect(200);
        expect(list.body.items).toEqual([expect.objectContaining({ id: doc.id, access: 'viewer', title: 'across' })]);

        await one.http.patch(`/documents/${doc.id}`).set(bearer(a.access)).send({ title: 'renamed' }).expect(200);
        expect((await stream.next((e) => e.event === 'document.updated', 'document.updated')).data).toEqual({
          documentId: doc.id,
          version: 2,
        });
      } finally {
        stream.close();
      }
    });
  });
} else {
  process.stdout.write(
    'sharing-cache: the two-instance tests are not registered: they need DATABASE_URL and REDIS_URL ' +
      '(the embedded database admits one process, and memory caches and events cannot be shared)\n',
  );
}
