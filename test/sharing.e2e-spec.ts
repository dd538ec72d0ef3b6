import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, makeAdmin, signUp } from './support/auth.js';

const QUOTA = 64 * 1024;

describe('sharing documents with people', () => {
  let t: TestApp;
  let owner: Account;
  let friend: Account;
  let stranger: Account;

  beforeAll(async () => {
    t = await startTestApp({ env: { USER_QUOTA_BYTES: String(QUOTA) } });
    [owner, friend, stranger] = [await signUp(t), await signUp(t), await signUp(t)];
  });
  afterAll(() => t.close());

  const db = () => t.app.get(DataSource);

  async function newDocument(account: Account, title: string, content = `${title} body words`) {
    return (await t.http.post('/documents').set(bearer(account.access)).send({ title, content }).expect(201)).body;
  }

  const share = (account: Account, docId: string, body: Record<string, unknown>) =>
    t.http.post(`/documents/${docId}/shares`).set(bearer(account.access)).send(body);

  /** Every document route, as the person it is tried by would send it. */
  function routes(docId: string, shareId: string, linkId: string) {
    return {
      metadata: (a: Account) => t.http.get(`/documents/${docId}`).set(bearer(a.access)),
      content: (a: Account) => t.http.get(`/documents/${docId}/content`).set(bearer(a.access)),
      edit: (a: Account) =>
        t.http
          .patch(`/documents/${docId}`)
          .set(bearer(a.access))
          .send({ title: `edited by ${a.username}` }),
      listShares: (a: Account) => t.http.get(`/documents/${docId}/shares`).set(bearer(a.access)),
      reshare: (a: Account) =>
        t.http.post(`/documents/${docId}/shares`).set(bearer(a.access)).send({ email: stranger.email, role: 'viewer' }),
      changeShare: (a: Account) =>
        t.http.patch(`/documents/${docId}/shares/${shareId}`).set(bearer(a.access)).send({ role: 'viewer' }),
      unshare: (a: Account) => t.http.delete(`/documents/${docId}/shares/${shareId}`).set(bearer(a.access)),
      createLink: (a: Account) => t.http.post(`/documents/${docId}/links`).set(bearer(a.access)).send({}),
      listLinks: (a: Account) => t.http.get(`/documents/${docId}/links`).set(bearer(a.access)),
      revokeLink: (a: Account) => t.http.delete(`/documents/${docId}/links/${linkId}`).set(bearer(a.access)),
      delete: (a: Account) => t.http.delete(`/documents/${docId}`).set(bearer(a.access)),
    };
  }

  it('a viewer reads metadata and content; everything else is 403 for them and 404 for a stranger', async () => {
    const doc = await newDocument(owner, 'viewer boundaries');
    const shared = await share(owner, doc.id, { email: friend.email, role: 'viewer' }).expect(201);
    const link = await t.http.post(`/documents/${doc.id}/links`).set(bearer(owner.access)).send({}).expect(201);
    const r = routes(doc.id, shared.body.id, link.body.id);

    const meta = await r.metadata(friend).expect(200);
    expect(meta.body).toMatchObject({ id: doc.id, ownerId: owner.id, title: 'viewer boundaries', access: 'viewer' });
    expect((await r.content(friend).expect(200)).text).toBe('viewer boundaries body words');
    for (const [name, attempt] of Object.entries(r)) {
      if (name === 'metadata' || name === 'content') continue;
      const refused = await attempt(friend);
      expect({ name, status: refused.status, type: refused.body.type }).toEqual({
        name,
        status: 403,
        type: 'urn:ultrai:problem:forbidden',
      });
    }
    for (const [name, attempt] of Object.entries(r)) {
      const refused = await attempt(stranger);
      expect({ name, status: refused.status, detail: refused.body.detail }).toEqual({
        name,
        status: 404,
        detail: 'No such document.',
      });
    }
    // Nothing the refusals tried happened.
    const after = await r.metadata(owner).expect(200);
    expect(after.body).toMatchObject({ title: 'viewer boundaries', version: 1, access: 'owner' });
    expect((await r.listShares(owner).expect(200)).body.items).toHaveLength(1);
  });

  it('an editor also changes title and tags, but does not delete, reshare or manage links', async () => {
    const doc = await newDocument(owner, 'editor boundaries');
    const shared = await share(owner, doc.id, { userId: friend.id, role: 'editor' }).expect(201);
    expect(shared.body).toMatchObject({ role: 'editor', userId: friend.id, email: null, documentId: doc.id });
    const link = await t.http.post(`/documents/${doc.id}/links`).set(bearer(owner.access)).send({}).expect(201);
    const r = routes(doc.id, shared.body.id, link.body.id);

    expect((await r.metadata(friend).expect(200)).body.access).toBe('editor');
    await r.content(friend).expect(200);
    const edited = await r.edit(friend).expect(200);
    expect(edited.body).toMatchObject({ title: `edited by ${friend.username}`, version: 2, access: 'editor' });
    const tagged = await t.http
      .patch(`/documents/${doc.id}`)
      .set(bearer(friend.access))
      .set('if-match', '"2"')
      .send({ tags: ['shared'] })
      .expect(200);
    expect(tagged.body.tags).toEqual(['shared']);
    for (const name of [
      'listShares',
      'reshare',
      'changeShare',
      'unshare',
      'createLink',
      'listLinks',
      'revokeLink',
      'delete',
    ] as const) {
      const refused = await r[name](friend);
      expect({ name, status: refused.status }).toEqual({ name, status: 403 });
    }
    expect((await r.metadata(owner).expect(200)).body).toMatchObject({
      title: `edited by ${friend.username}`,
      tags: ['shared'],
      ownerId: owner.id,
    });
  });

  it('an unknown email or user id gets the same answer as a known one, and nothing is stored for it', async () => {
    const doc = await newDocument(owner, 'enumeration');
    const known = await share(owner, doc.id, { email: friend.email.toUpperCase(), role: 'viewer' }).expect(201);
    const unknown = await share(owner, doc.id, { email: 'nobody.at.all@example.com', role: 'viewer' }).expect(201);
    expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(known.body).sort());
    expect(unknown.headers['content-type']).toBe(known.headers['content-type']);
    expect(unknown.body).toMatchObject({ role: 'viewer', email: 'nobody.at.all@example.com', userId: null });
    const unknownId = await share(owner, doc.id, {
      userId: '00000000-0000-4000-8000-000000000000',
      role: 'editor',
    }).expect(201);
    expect(unknownId.body).toMatchObject({ role: 'editor', userId: '00000000-0000-4000-8000-000000000000' });

    const list = await t.http.get(`/documents/${doc.id}/shares`).set(bearer(owner.access)).expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: known.body.id, email: friend.email, username: friend.username, role: 'viewer' }),
    ]);
    const stored = await db().query('SELECT count(*)::int AS n FROM document_shares WHERE document_id = $1', [doc.id]);
    expect(stored[0].n).toBe(1);
  });

  it('refuses bad share requests with 400 and stores nothing', async () => {
    const doc = await newDocument(owner, 'bad shares');
    for (const body of [
      {},
      { email: friend.email },
      { email: friend.email, role: 'owner' },
      { email: 'not an email', role: 'viewer' },
      { userId: 'not-a-uuid', role: 'viewer' },
      { email: friend.email, userId: friend.id, role: 'viewer' },
      { email: owner.email, role: 'viewer' },
      { email: friend.email, role: 'viewer', extra: true },
    ]) {
      const refused = await share(owner, doc.id, body);
      expect({ body, status: refused.status, type: refused.headers['content-type'] }).toEqual({
        body,
        status: 400,
        type: expect.stringContaining('application/problem+json'),
      });
    }
    await t.http.get(`/documents/not-a-uuid/shares`).set(bearer(owner.access)).expect(400);
    const stored = await db().query('SELECT count(*)::int AS n FROM document_shares WHERE document_id = $1', [doc.id]);
    expect(stored[0].n).toBe(0);
  });

  it('lists by scope (owned is the default), each item with its access; search covers what one may read', async () => {
    const [a, b] = [await signUp(t), await signUp(t)];
    const mine = await newDocument(b, 'b own pelican notes');
    const theirs = await newDocument(a, 'a pelican report');
    const edited = await newDocument(a, 'a second report');
    await newDocument(a, 'a private pelican diary');
    await share(a, theirs.id, { email: b.email, role: 'viewer' }).expect(201);
    await share(a, edited.id, { email: b.email, role: 'editor' }).expect(201);

    const list = async (query: string) =>
      (await t.http.get(`/documents${query}`).set(bearer(b.access)).expect(200)).body.items.map(
        (d: { id: string; access: string }) => [d.id, d.access],
      );
    expect(await list('')).toEqual([[mine.id, 'owner']]);
    expect(await list('?scope=owned')).toEqual([[mine.id, 'owner']]);
    expect(await list('?scope=shared')).toEqual([
      [edited.id, 'editor'],
      [theirs.id, 'viewer'],
    ]);
    expect(await list('?scope=all&sort=createdAt')).toEqual([
      [mine.id, 'owner'],
      [theirs.id, 'viewer'],
      [edited.id, 'editor'],
    ]);
    // The private diary matches too, but is not b's to read.
    expect((await list('?scope=all&q=pelican')).sort()).toEqual(
      [
        [mine.id, 'owner'],
        [theirs.id, 'viewer'],
      ].sort(),
    );
    await t.http.get('/documents?scope=everything').set(bearer(b.access)).expect(400);
    // Pages follow the scope too.
    const first = await t.http.get('/documents?scope=all&limit=2').set(bearer(b.access)).expect(200);
    const second = await t.http
      .get(`/documents?scope=all&limit=2&cursor=${first.body.nextCursor}`)
      .set(bearer(b.access))
      .expect(200);
    expect([...first.body.items, ...second.body.items].map((d: { id: string }) => d.id).sort()).toEqual(
      [mine.id, theirs.id, edited.id].sort(),
    );
  });

  it('a shared document counts toward its owner’s quota only', async () => {
    const [a, b] = [await signUp(t), await signUp(t)];
    const big = 'x'.repeat(QUOTA - 1024);
    const doc = await newDocument(a, 'big shared', big);
    await share(a, doc.id, { email: b.email, role: 'editor' }).expect(201);
    // b's quota is untouched by what is shared with them.
    await newDocument(b, 'b big', big);
    // a's is full.
    const refused = await t.http
      .post('/documents')
      .set(bearer(a.access))
      .send({ title: 'over', content: 'y'.repeat(2048) })
      .expect(413);
    expect(refused.body.detail).toMatch(/quota/);
  });

  it('a changed role and a revoked share apply at once; the owner manages shares', async () => {
    const doc = await newDocument(owner, 'revocation');
    const shared = await share(owner, doc.id, { email: friend.email, role: 'editor' }).expect(201);
    await t.http.patch(`/documents/${doc.id}`).set(bearer(friend.access)).send({ title: 'by editor' }).expect(200);
    const changed = await t.http
      .patch(`/documents/${doc.id}/shares/${shared.body.id}`)
      .set(bearer(owner.access))
      .send({ role: 'viewer' })
      .expect(200);
    expect(changed.body).toMatchObject({ id: shared.body.id, role: 'viewer' });
    await t.http.patch(`/documents/${doc.id}`).set(bearer(friend.access)).send({ title: 'no more' }).expect(403);
    await t.http
      .patch(`/documents/${doc.id}/shares/00000000-0000-4000-8000-000000000000`)
      .set(bearer(owner.access))
      .send({ role: 'viewer' })
      .expect(404);
    await t.http.delete(`/documents/${doc.id}/shares/${shared.body.id}`).set(bearer(owner.access)).expect(204);
    await t.http.delete(`/documents/${doc.id}/shares/${shared.body.id}`).set(bearer(owner.access)).expect(404);
    await t.http.get(`/documents/${doc.id}`).set(bearer(friend.access)).expect(404);
    await t.http.get(`/documents/${doc.id}/content`).set(bearer(friend.access)).expect(404);
    const sharedWithFriend = await t.http
      .get('/documents?scope=shared&limit=100')
      .set(bearer(friend.access))
      .expect(200);
    expect(sharedWithFriend.body.items.map((d: { id: string }) => d.id)).not.toContain(doc.id);
  });

  it('an administrator still has owner rights on every document', async () => {
    const admin = await signUp(t);
    await makeAdmin(t, admin.id);
    const doc = await newDocument(owner, 'admin view');
    const meta = await t.http.get(`/documents/${doc.id}`).set(bearer(admin.access)).expect(200);
    expect(meta.body).toMatchObject({ id: doc.id, access: 'owner' });
    // Not cached for the administrator: it is someone else's document.
    expect((await t.http.get(`/documents/${doc.id}`).set(bearer(admin.access)).expect(200)).headers['x-cache']).toBe(
      'MISS',
    );
    await share(admin, doc.id, { email: friend.email, role: 'viewer' }).expect(201);
    await t.http.delete(`/documents/${doc.id}`).set(bearer(admin.access)).expect(204);
  });

  it('personal access tokens: documents:write manages shares and links, documents:read only reads', async () => {
    const doc = await newDocument(owner, 'by token');
    const token = async (scopes: string[]) =>
      (
        await t.http
          .post('/users/me/tokens')
          .set(bearer(owner.access))
          .send({ name: `t ${scopes.join(' ')}`, scopes })
          .expect(201)
      ).body.token as string;
    const [reader, writer] = [await token(['documents:read']), await token(['documents:write'])];
    const refused = await t.http
      .post(`/documents/${doc.id}/shares`)
      .set(bearer(reader))
      .send({ email: friend.email, role: 'viewer' })
      .expect(403);
    expect(refused.body.type).toBe('urn:ultrai:problem:insufficient-scope');
    await t.http.get(`/documents/${doc.id}/links`).set(bearer(reader)).expect(403);
    await t.http
      .post(`/documents/${doc.id}/shares`)
      .set(bearer(writer))
      .send({ email: friend.email, role: 'viewer' })
      .expect(201);
    await t.http.post(`/documents/${doc.id}/links`).set(bearer(writer)).send({}).expect(201);
    expect((await t.http.get(`/documents/${doc.id}/shares`).set(bearer(writer)).expect(200)).body.items).toHaveLength(
      1,
    );
  });
});
