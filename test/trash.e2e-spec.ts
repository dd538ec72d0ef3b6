import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { TrashPurger } from '../src/documents/trash-purger.js';
import { chunkCount as chunksOf, storageKeys as storedKeys } from './support/stored-bytes.js';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, makeAdmin, signUp } from './support/auth.js';
import { SseClient } from './support/sse.js';

const QUOTA = 100 * 1024;
const RETENTION_DAYS = 7;
const DAY_MS = 86_400_000;

interface Doc {
  id: string;
  title: string;
}

describe('trash', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let admin: Account;

  beforeAll(async () => {
    t = await startTestApp({
      env: { USER_QUOTA_BYTES: String(QUOTA), TRASH_RETENTION_DAYS: String(RETENTION_DAYS) },
    });
    [alice, bob, admin] = [await signUp(t), await signUp(t), await signUp(t)];
    await makeAdmin(t, admin.id);
  });
  afterAll(() => t.close());

  const db = () => t.app.get(DataSource);
  const as = (account: Account) => bearer(account.access);

  async function create(account: Account, title: string, content = `${title} body`): Promise<Doc> {
    return (await t.http.post('/documents').set(as(account)).send({ title, content }).expect(201)).body;
  }
  const ids = (body: { items: Doc[] }) => body.items.map((d) => d.id);
  const listIds = async (account: Account, path = '/documents?limit=100') =>
    ids((await t.http.get(path).set(as(account)).expect(200)).body);
  const trashIds = async (account: Account) => listIds(account, '/documents/trash?limit=100');

  /** Reads `path` until it is a cache HIT, so a later MISS can only come from an invalidation. */
  async function warm(account: Account, path: string): Promise<void> {
    await t.http.get(path).set(as(account)).expect(200);
    const hit = await t.http.get(path).set(as(account)).expect(200);
    expect({ path, cache: hit.headers['x-cache'] }).toEqual({ path, cache: 'HIT' });
  }

  it('DELETE moves a document to the trash: gone from lists, search and reads (cached ones too)', async () => {
    const doc = await create(alice, 'Marmalade recipe', 'oranges sugar marmalade');
    const paths = ['/documents?limit=100', '/documents?q=marmalade', `/documents/${doc.id}`];
    for (const path of paths) await warm(alice, path);

    await t.http.delete(`/documents/${doc.id}`).set(as(alice)).expect(204);

    const list = await t.http.get('/documents?limit=100').set(as(alice)).expect(200);
    expect(ids(list.body)).not.toContain(doc.id);
    expect(ids((await t.http.get('/documents?q=marmalade').set(as(alice)).expect(200)).body)).toEqual([]);
    for (const path of [`/documents/${doc.id}`, `/documents/${doc.id}/content`]) {
      const gone = await t.http.get(path).set(as(alice)).expect(404);
      expect(gone.body).toMatchObject({ status: 404, type: 'urn:ultrai:problem:not-found' });
    }
    await t.http.patch(`/documents/${doc.id}`).set(as(alice)).send({ title: 'x' }).expect(404);
    await t.http.delete(`/documents/${doc.id}`).set(as(alice)).expect(404);

    const trash = await t.http.get('/documents/trash').set(as(alice)).expect(200);
    const item = trash.body.items.find((d: Doc) => d.id === doc.id);
    expect(item).toMatchObject({ id: doc.id, title: 'Marmalade recipe', textStatus: 'indexed' });
    expect(Date.parse(item.purgeAt) - Date.parse(item.deletedAt)).toBe(RETENTION_DAYS * DAY_MS);
    expect(Math.abs(Date.parse(item.deletedAt) - Date.now())).toBeLessThan(60_000);
  });

  it('restore brings it back to lists, search and reads; restoring again is a 404', async () => {
    const doc = await create(alice, 'Quince paste', 'quince membrillo');
    await t.http.delete(`/documents/${doc.id}`).set(as(alice)).expect(204);
    await warm(alice, '/documents?limit=100');
    await warm(alice, '/documents?q=membrillo');

    const restored = await t.http.post(`/documents/${doc.id}/restore`).set(as(alice)).expect(200);
    expect(restored.body).toMatchObject({ id: doc.id, title: 'Quince paste' });
    expect(restored.body.deletedAt).toBeUndefined();

    expect(await listIds(alice)).toContain(doc.id);
    expect(ids((await t.http.get('/documents?q=membrillo').set(as(alice)).expect(200)).body)).toEqual([doc.id]);
    const content = await t.http.get(`/documents/${doc.id}/content`).set(as(alice)).expect(200);
    expect(content.text).toBe('quince membrillo');
    expect(await trashIds(alice)).not.toContain(doc.id);
    await t.http.post(`/documents/${doc.id}/restore`).set(as(alice)).expect(404);
  });

  it('?permanent=true deletes for good, from the trash or directly; a bad value is a 400', async () => {
    const trashed = await create(alice, 'Old draft');
    const live = await create(alice, 'Scratch');
    await t.http.delete(`/documents/${trashed.id}`).set(as(alice)).expect(204);
    await warm(alice, '/documents?limit=100');

    const bad = await t.http.delete(`/documents/${live.id}?permanent=maybe`).set(as(alice)).expect(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'permanent' })]);
    expect(await listIds(alice)).toContain(live.id);

    const keys = [...(await storedKeys(db(), trashed.id)), ...(await storedKeys(db(), live.id))];
    expect(await chunksOf(db(), keys)).toBeGreaterThan(0);
    await t.http.delete(`/documents/${trashed.id}?permanent=true`).set(as(alice)).expect(204);
    await t.http.delete(`/documents/${live.id}?permanent=true`).set(as(alice)).expect(204);
    expect(await listIds(alice)).not.toContain(live.id);
    const trash = await trashIds(alice);
    expect(trash).not.toContain(trashed.id);
    expect(trash).not.toContain(live.id);
    for (const doc of [trashed, live]) {
      await t.http.post(`/documents/${doc.id}/restore`).set(as(alice)).expect(404);
    }
    expect(await chunksOf(db(), keys)).toBe(0);
  });

  it("DELETE /documents/trash empties the caller's trash only", async () => {
    const user = await signUp(t);
    const kept = await create(user, 'Kept');
    const [a, b] = [await create(user, 'Trash A'), await create(user, 'Trash B')];
    const bobs = await create(bob, 'Bob trash');
    for (const [account, doc] of [
      [user, a],
      [user, b],
      [bob, bobs],
    ] as const) {
      await t.http.delete(`/documents/${doc.id}`).set(as(account)).expect(204);
    }
    expect((await trashIds(user)).sort()).toEqual([a.id, b.id].sort());

    await t.http.delete('/documents/trash').set(as(user)).expect(204);

    expect(await trashIds(user)).toEqual([]);
    expect(await listIds(user)).toEqual([kept.id]);
    expect(await trashIds(bob)).toContain(bobs.id);
    await t.http.post(`/documents/${a.id}/restore`).set(as(user)).expect(404);
    await t.http.delete('/documents/trash').set(as(user)).expect(204);
    await t.http.delete('/documents/trash').expect(401);
  });

  it('pages the trash, most recently deleted first', async () => {
    const user = await signUp(t);
    const docs = [await create(user, 'One'), await create(user, 'Two'), await create(user, 'Three')];
    for (const doc of docs) await t.http.delete(`/documents/${doc.id}`).set(as(user)).expect(204);
    const first = await t.http.get('/documents/trash?limit=2').set(as(user)).expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await t.http
      .get(`/documents/trash?limit=2&cursor=${first.body.nextCursor}`)
      .set(as(user))
      .expect(200);
    expect(second.body.nextCursor).toBeNull();
    const all = [...ids(first.body), ...ids(second.body)];
    expect(all).toEqual([docs[2].id, docs[1].id, docs[0].id]);
    await t.http.get('/documents/trash?cursor=nonsense').set(as(user)).expect(400);
  });

  it('trashed documents count towards the quota until purged or emptied', async () => {
    const user = await signUp(t);
    const big = (name: string) =>
      t.http
        .post('/documents')
        .set(as(user))
        .attach('file', Buffer.alloc(45 * 1024, 'q'), { filename: `${name}.txt`, contentType: 'text/plain' });
    const first = (await big('one').expect(201)).body;
    await big('two').expect(201);
    await big('three').expect(413);
    await t.http.delete(`/documents/${first.id}`).set(as(user)).expect(204);
    const refused = await big('three').expect(413);
    expect(refused.body.detail).toMatch(/quota/);
    await t.http.delete('/documents/trash').set(as(user)).expect(204);
    await big('three').expect(201);
  });

  it(`the purge job deletes what was trashed more than TRASH_RETENTION_DAYS ago, and nothing else`, async () => {
    const user = await signUp(t);
    const [old, recent, live] = [await create(user, 'Old'), await create(user, 'Recent'), await create(user, 'Live')];
    for (const doc of [old, recent]) await t.http.delete(`/documents/${doc.id}`).set(as(user)).expect(204);
    // Moved into the past as if trashed RETENTION_DAYS and a minute ago.
    await db().query(`UPDATE documents SET deleted_at = now() - make_interval(days => $2, mins => 1) WHERE id = $1`, [
      old.id,
      RETENTION_DAYS,
    ]);

    const keys = await storedKeys(db(), old.id);
    expect(await chunksOf(db(), keys)).toBeGreaterThan(0);
    expect(await t.app.get(TrashPurger).purge()).toBe(1);

    expect(await trashIds(user)).toEqual([recent.id]);
    expect(await listIds(user)).toEqual([live.id]);
    await t.http.post(`/documents/${old.id}/restore`).set(as(user)).expect(404);
    expect(await chunksOf(db(), keys)).toBe(0);
  });

  it("an administrator can trash, restore and delete another user's document, and it is audited", async () => {
    const owner = await signUp(t);
    const doc = await create(owner, 'Owned');
    await warm(owner, '/documents?limit=100');

    await t.http.delete(`/documents/${doc.id}`).set(as(admin)).expect(204);
    expect(await listIds(owner)).toEqual([]);
    const seen = await t.http.get(`/documents/trash?owner=${owner.id}`).set(as(admin)).expect(200);
    expect(ids(seen.body)).toEqual([doc.id]);
    await t.http.get(`/documents/trash?owner=${owner.id}`).set(as(bob)).expect(403);
    await t.http.post(`/documents/${doc.id}/restore`).set(as(bob)).expect(404);
    await t.http.delete(`/documents/${doc.id}?permanent=true`).set(as(bob)).expect(404);

    await t.http.post(`/documents/${doc.id}/restore`).set(as(admin)).expect(200);
    expect(await listIds(owner)).toEqual([doc.id]);
    await t.http.delete(`/documents/${doc.id}?permanent=true`).set(as(admin)).expect(204);
    expect(await listIds(owner)).toEqual([]);
    expect(await trashIds(owner)).toEqual([]);

    const audit = await t.http.get('/users/me/audit?limit=100').set(as(owner)).expect(200);
    const events = audit.body.items
      .filter((e: { type: string }) => e.type.endsWith('-document'))
      .map((e: { type: string; actorId: string; details: { documentId: string } }) => [
        e.type,
        e.actorId,
        e.details.documentId,
      ]);
    expect(events).toEqual([
      ['admin.delete-document', admin.id, doc.id],
      ['admin.restore-document', admin.id, doc.id],
      ['admin.trash-document', admin.id, doc.id],
    ]);
  });

  it('deleting the account removes its trashed documents and their bytes at once', async () => {
    const user = await signUp(t);
    const doc = await create(user, 'Going away');
    await t.http.delete(`/documents/${doc.id}`).set(as(user)).expect(204);
    const keys = await storedKeys(db(), doc.id);
    expect(await chunksOf(db(), keys)).toBeGreaterThan(0);
    await t.http.delete('/users/me').set(as(user)).send({ password: user.password }).expect(204);
    expect(await db().query('SELECT 1 FROM documents WHERE id = $1', [doc.id])).toHaveLength(0);
    expect(await chunksOf(db(), keys)).toBe(0);
  });

  it('a personal access token needs documents:read for the trash and documents:write to restore or empty it', async () => {
    const user = await signUp(t);
    const doc = await create(user, 'Scoped');
    await t.http.delete(`/documents/${doc.id}`).set(as(user)).expect(204);
    const token = async (scopes: string[]) =>
      (
        await t.http
          .post('/users/me/tokens')
          .set(as(user))
          .send({ name: scopes.join(' '), scopes })
          .expect(201)
      ).body.token as string;
    const reader = bearer(await token(['documents:read']));
    const writer = bearer(await token(['documents:read', 'documents:write']));
    expect(ids((await t.http.get('/documents/trash').set(reader).expect(200)).body)).toEqual([doc.id]);
    await t.http.post(`/documents/${doc.id}/restore`).set(reader).expect(403);
    await t.http.delete('/documents/trash').set(reader).expect(403);
    await t.http.post(`/documents/${doc.id}/restore`).set(writer).expect(200);
    await t.http.delete(`/documents/${doc.id}`).set(writer).expect(204);
    await t.http.delete('/documents/trash').set(writer).expect(204);
    expect(await trashIds(user)).toEqual([]);
  });

  it('malformed ids are a 400 on restore and delete', async () => {
    await t.http.post('/documents/not-a-uuid/restore').set(as(alice)).expect(400);
    await t.http.delete('/documents/not-a-uuid?permanent=true').set(as(alice)).expect(400);
  });
});

describe('trash of a shared document', () => {
  let t: TestApp;
  let port: number;
  let owner: Account;
  let editor: Account;
  let viewer: Account;
  const open: SseClient[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    [owner, editor, viewer] = [await signUp(t), await signUp(t), await signUp(t)];
  });
  afterAll(async () => {
    for (const stream of open.splice(0)) stream.close();
    await t.close();
  });

  const as = (account: Account) => bearer(account.access);
  const sharedIds = async (account: Account, query = '') =>
    (await t.http.get(`/documents?scope=shared${query}`).set(as(account)).expect(200)).body.items.map(
      (d: { id: string }) => d.id,
    );

  it('only its owner trashes and restores it; its readers lose it at once, get the events, and its links die', async () => {
    const doc = (
      await t.http.post('/documents').set(as(owner)).send({ title: 'Shared ledger', content: 'quarterly zebra' })
    ).body;
    for (const [account, role] of [
      [editor, 'editor'],
      [viewer, 'viewer'],
    ] as const) {
      await t.http.post(`/documents/${doc.id}/shares`).set(as(owner)).send({ email: account.email, role }).expect(201);
    }
    const link = (await t.http.post(`/documents/${doc.id}/links`).set(as(owner)).send({}).expect(201)).body;
    await t.http.get(`/s/${link.token}`).expect(200);
    const viewerEvents = await SseClient.open(port, '/events', as(viewer));
    open.push(viewerEvents);

    // The people it is shared with may not trash, delete or restore it.
    for (const account of [editor, viewer]) {
      await t.http.delete(`/documents/${doc.id}`).set(as(account)).expect(403);
      await t.http.delete(`/documents/${doc.id}?permanent=true`).set(as(account)).expect(403);
    }
    // Cached answers for the viewer, which the trash must not leave reachable.
    await t.http.get(`/documents/${doc.id}`).set(as(viewer)).expect(200);
    expect((await t.http.get(`/documents/${doc.id}`).set(as(viewer)).expect(200)).headers['x-cache']).toBe('HIT');
    expect(await sharedIds(viewer)).toEqual([doc.id]);
    expect(await sharedIds(viewer, '&q=zebra')).toEqual([doc.id]);

    await t.http.delete(`/documents/${doc.id}`).set(as(owner)).expect(204);
    expect((await viewerEvents.next((e) => e.event === 'document.deleted')).data).toEqual({ documentId: doc.id });
    for (const account of [editor, viewer]) {
      await t.http.get(`/documents/${doc.id}`).set(as(account)).expect(404);
      await t.http.get(`/documents/${doc.id}/content`).set(as(account)).expect(404);
      await t.http.patch(`/documents/${doc.id}`).set(as(account)).send({ title: 'x' }).expect(404);
      await t.http.post(`/documents/${doc.id}/restore`).set(as(account)).expect(404);
      expect(await sharedIds(account)).toEqual([]);
      expect(await sharedIds(account, '&q=zebra')).toEqual([]);
    }
    await t.http.get(`/s/${link.token}`).expect(404);
    await t.http.get(`/s/${link.token}/content`).expect(404);

    const restored = await t.http.post(`/documents/${doc.id}/restore`).set(as(owner)).expect(200);
    expect(restored.body).toMatchObject({ id: doc.id, access: 'owner', textStatus: 'indexed' });
    expect((await viewerEvents.next((e) => e.event === 'document.restored')).data).toMatchObject({
      documentId: doc.id,
    });
    expect((await t.http.get(`/documents/${doc.id}`).set(as(viewer)).expect(200)).body.access).toBe('viewer');
    expect(await sharedIds(viewer, '&q=zebra')).toEqual([doc.id]);
    // Trashing deleted the link: a restore does not bring it back.
    await t.http.get(`/s/${link.token}`).expect(404);
    expect((await t.http.get(`/documents/${doc.id}/links`).set(as(owner)).expect(200)).body.items).toEqual([]);
  });
});
