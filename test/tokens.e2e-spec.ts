import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, makeAdmin, signUp } from './support/auth.js';
import { twoInstances } from './support/instances.js';
import { REAL_REDIS_URL } from './support/env.js';

type Scope = 'profile:read' | 'profile:write' | 'documents:read' | 'documents:write';
const ALL: Scope[] = ['profile:read', 'profile:write', 'documents:read', 'documents:write'];

async function createToken(
  t: TestApp,
  account: Account,
  scopes: Scope[],
  extra: Record<string, unknown> = {},
): Promise<{ id: string; token: string }> {
  const res = await t.http
    .post('/users/me/tokens')
    .set(bearer(account.access))
    .send({ name: `token ${scopes.join(' ')}`, scopes, ...extra })
    .expect(201);
  return res.body;
}

async function upload(t: TestApp, account: Account, title: string): Promise<string> {
  const res = await t.http
    .post('/documents')
    .set(bearer(account.access))
    .send({ title, content: `${title} body` })
    .expect(201);
  return res.body.id;
}

/** cache_hits_total{layer="edge"}: hits answered by the fast path (src/cache/cached-reads.ts), before the guards. */
async function edgeHits(t: TestApp): Promise<number> {
  const text = (await t.http.get('/metrics').expect(200)).text;
  return Number(/^cache_hits_total\{layer="edge"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

function expectScopeRefusal(
  res: { status: number; headers: Record<string, string>; body: { type: string; detail: string } },
  scope?: string,
) {
  expect(res.status).toBe(403);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.type).toBe('urn:ultrai:problem:insufficient-scope');
  if (scope) expect(res.body.detail).toBe(`This personal access token lacks the scope ${scope}.`);
  else expect(res.body.detail).toMatch(/cannot be used on this route/);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('personal access tokens', () => {
  let t: TestApp;
  let owner: Account;
  let docId: string;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await signUp(t);
    docId = await upload(t, owner, 'first');
  });
  afterAll(() => t.close());

  it('shows the secret once, lists tokens without it, and stores only its SHA-256', async () => {
    const account = await signUp(t);
    const res = await t.http
      .post('/users/me/tokens')
      .set(bearer(account.access))
      .send({
        name: 'backup script',
        scopes: ['documents:read', 'documents:read'],
        expiresAt: '2099-01-01T00:00:00.000Z',
      })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      name: 'backup script',
      scopes: ['documents:read'],
      prefix: res.body.token.slice(0, 11),
      token: expect.stringMatching(/^uc_pat_[A-Za-z0-9_-]{43}$/),
      createdAt: expect.any(String),
      lastUsedAt: null,
      expiresAt: '2099-01-01T00:00:00.000Z',
    });
    const list = await t.http.get('/users/me/tokens').set(bearer(account.access)).expect(200);
    const { token, ...shown } = res.body;
    expect(list.body).toEqual({ items: [shown], nextCursor: null });
    expect(JSON.stringify(list.body)).not.toContain(token.slice(11));

    const rows = await t.app
      .get(DataSource)
      .query(`SELECT * FROM personal_access_tokens WHERE user_id = $1`, [account.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token.slice(11));
    expect(rows[0].token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    // Another user sees none of them, and cannot revoke them.
    expect((await t.http.get('/users/me/tokens').set(bearer(owner.access)).expect(200)).body.items).toEqual([]);
    await t.http.delete(`/users/me/tokens/${res.body.id}`).set(bearer(owner.access)).expect(404);
  });

  it('refuses bad input with 400 problem+json, storing nothing', async () => {
    const account = await signUp(t);
    const bad: Array<Record<string, unknown>> = [
      { name: 'x', scopes: ['admin'] },
      { name: 'x', scopes: [] },
      { name: 'x' },
      { scopes: ['profile:read'] },
      { name: '', scopes: ['profile:read'] },
      { name: 'x', scopes: ['profile:read'], expiresAt: '2001-01-01T00:00:00.000Z' },
      { name: 'x', scopes: ['profile:read'], expiresAt: 'tomorrow' },
      { name: 'x', scopes: ['profile:read'], owner: owner.id },
    ];
    for (const body of bad) {
      const res = await t.http.post('/users/me/tokens').set(bearer(account.access)).send(body);
      expect({ body, status: res.status, type: res.headers['content-type'] }).toEqual({
        body,
        status: 400,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
    }
    expect((await t.http.get('/users/me/tokens').set(bearer(account.access))).body.items).toEqual([]);
  });

  it('documents:read reads documents and nothing else', async () => {
    const { token } = await createToken(t, owner, ['documents:read']);
    const list = await t.http.get('/documents').set(bearer(token)).expect(200);
    expect(list.body.items.map((d: { id: string }) => d.id)).toContain(docId);
    await t.http.get(`/documents/${docId}`).set(bearer(token)).expect(200);
    const content = await t.http.get(`/documents/${docId}/content`).set(bearer(token)).expect(200);
    expect(content.text).toBe('first body');
    expectScopeRefusal(
      await t.http.post('/documents').set(bearer(token)).send({ title: 'no', content: 'no' }),
      'documents:write',
    );
    expectScopeRefusal(
      await t.http.patch(`/documents/${docId}`).set(bearer(token)).send({ title: 'no' }),
      'documents:write',
    );
    expectScopeRefusal(await t.http.delete(`/documents/${docId}`).set(bearer(token)), 'documents:write');
    expectScopeRefusal(await t.http.get('/users/me').set(bearer(token)), 'profile:read');
    expectScopeRefusal(
      await t.http.patch('/users/me').set(bearer(token)).send({ username: 'renamed' }),
      'profile:write',
    );
    await t.http.get(`/documents/${docId}`).set(bearer(owner.access)).expect(200);
  });

  it('documents:write writes documents but cannot read them', async () => {
    const { token } = await createToken(t, owner, ['documents:write']);
    const created = await t.http
      .post('/documents')
      .set(bearer(token))
      .send({ title: 'by token', content: 'x' })
      .expect(201);
    await t.http
      .patch(`/documents/${created.body.id}`)
      .set(bearer(token))
      .send({ title: 'renamed by token' })
      .expect(200);
    expectScopeRefusal(await t.http.get('/documents').set(bearer(token)), 'documents:read');
    expectScopeRefusal(await t.http.get(`/documents/${created.body.id}`).set(bearer(token)), 'documents:read');
    expectScopeRefusal(await t.http.get(`/documents/${created.body.id}/content`).set(bearer(token)), 'documents:read');
    await t.http.delete(`/documents/${created.body.id}`).set(bearer(token)).expect(204);
  });

  it('profile:read reads the profile (and the legacy routes); profile:write changes the username', async () => {
    const account = await signUp(t);
    const read = await createToken(t, account, ['profile:read']);
    expect((await t.http.get('/users/me').set(bearer(read.token)).expect(200)).body.id).toBe(account.id);
    expect((await t.http.get('/auth/verify').set(bearer(read.token)).expect(200)).body).toMatchObject({
      valid: true,
      id: account.id,
    });
    expect((await t.http.get('/protected').set(bearer(read.token)).expect(200)).body.user.id).toBe(account.id);
    expectScopeRefusal(
      await t.http.patch('/users/me').set(bearer(read.token)).send({ username: 'renamed_r' }),
      'profile:write',
    );
    expectScopeRefusal(await t.http.get('/documents').set(bearer(read.token)), 'documents:read');
    const write = await createToken(t, account, ['profile:write']);
    const renamed = await t.http
      .patch('/users/me')
      .set(bearer(write.token))
      .send({ username: `w_${account.username}` })
      .expect(200);
    expect(renamed.body.username).toBe(`w_${account.username}`);
    expectScopeRefusal(await t.http.get('/users/me').set(bearer(write.token)), 'profile:read');
  });

  it('honours and refuses scopes alike on cached reads answered before the guards', async () => {
    const account = await signUp(t);
    const id = await upload(t, account, 'cached');
    // The session warms the cache: these reads are then hits for this user, whoever asks.
    for (const path of ['/users/me', '/documents', `/documents/${id}`]) {
      await t.http.get(path).set(bearer(account.access)).expect(200);
      expect((await t.http.get(path).set(bearer(account.access)).expect(200)).headers['x-cache']).toBe('HIT');
    }
    const docs = await createToken(t, account, ['documents:read']);
    for (const path of ['/documents', `/documents/${id}`]) {
      await t.http.get(path).set(bearer(docs.token)).expect(200);
      const before = await edgeHits(t);
      const hit = await t.http.get(path).set(bearer(docs.token)).expect(200);
      expect({ path, cache: hit.headers['x-cache'], edge: (await edgeHits(t)) - before }).toEqual({
        path,
        cache: 'HIT',
        edge: 1,
      });
    }
    // A warm entry for /users/me does not open it to a token without profile:read, first time or after.
    for (let i = 0; i < 2; i++)
      expectScopeRefusal(await t.http.get('/users/me').set(bearer(docs.token)), 'profile:read');
    const writeOnly = await createToken(t, account, ['documents:write']);
    await t.http.post('/documents').set(bearer(writeOnly.token)).send({ title: 'w', content: 'w' }).expect(201);
    await t.http.get('/documents').set(bearer(account.access)).expect(200);
    for (let i = 0; i < 2; i++)
      expectScopeRefusal(await t.http.get('/documents').set(bearer(writeOnly.token)), 'documents:read');
    // Revoked: refused at once, warm cache or not.
    await t.http.delete(`/users/me/tokens/${docs.id}`).set(bearer(account.access)).expect(204);
    for (const path of ['/documents', `/documents/${id}`, `/documents/${id}/content`]) {
      await t.http.get(path).set(bearer(docs.token)).expect(401);
    }
  });

  it('never manages tokens, sessions, MFA, password or email, nor reaches admin routes, whatever its scopes', async () => {
    const admin = await signUp(t);
    await makeAdmin(t, admin.id);
    const { id, token } = await createToken(t, admin, ALL);
    const tries: Array<[string, string, Record<string, unknown>?]> = [
      ['post', '/users/me/tokens', { name: 'more', scopes: ALL }],
      ['get', '/users/me/tokens'],
      ['delete', `/users/me/tokens/${id}`],
      ['get', '/auth/sessions'],
      ['delete', `/auth/sessions/${id}`],
      ['post', '/auth/logout'],
      ['post', '/auth/logout-all'],
      ['post', '/users/me/mfa/totp', { password: admin.password }],
      ['post', '/users/me/mfa/totp/confirm', { code: '123456' }],
      ['delete', '/users/me/mfa/totp', { password: admin.password, code: '123456' }],
      ['put', '/users/me/password', { currentPassword: admin.password, newPassword: 'another long password' }],
      ['delete', '/users/me', { password: admin.password }],
      ['put', '/users/me/email', { email: 'new@example.com', password: admin.password }],
      ['post', '/auth/email/verify/resend'],
      ['get', '/users/me/audit'],
      ['get', '/users'],
      ['get', `/users/${owner.id}`],
      ['patch', `/users/${owner.id}`, { disabled: true }],
      ['delete', `/users/${owner.id}`],
      ['delete', `/users/${owner.id}/mfa`],
      ['get', '/admin/audit'],
    ];
    for (const [method, path, body] of tries) {
      const call = (t.http as unknown as Record<string, (p: string) => import('supertest').Test>)
        [method](path)
        .set(bearer(token));
      const res = await (body ? call.send(body) : call);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expectScopeRefusal(res);
    }
    // Nothing of it happened: the token, the account and the other user are all still there.
    await t.http.get('/users/me').set(bearer(token)).expect(200);
    await t.http.get(`/users/${owner.id}`).set(bearer(admin.access)).expect(200);
    await t.http.get('/users/me').set(bearer(owner.access)).expect(200);
  });

  it("an administrator's token has no administrator rights over other people's documents", async () => {
    const admin = await signUp(t);
    await makeAdmin(t, admin.id);
    const { token } = await createToken(t, admin, ALL);
    const theirs = await upload(t, owner, 'not the admin’s');
    // With a session, the administrator reaches it; with a token, it does not exist.
    await t.http.get(`/documents/${theirs}`).set(bearer(admin.access)).expect(200);
    await t.http.get(`/documents/${theirs}`).set(bearer(token)).expect(404);
    await t.http.get(`/documents/${theirs}/content`).set(bearer(token)).expect(404);
    await t.http.patch(`/documents/${theirs}`).set(bearer(token)).send({ title: 'taken over' }).expect(404);
    await t.http.delete(`/documents/${theirs}`).set(bearer(token)).expect(404);
    await t.http.get(`/documents?owner=${owner.id}`).set(bearer(token)).expect(403);
    const still = await t.http.get(`/documents/${theirs}`).set(bearer(owner.access)).expect(200);
    expect(still.body.title).toBe('not the admin’s');
  });

  it('refuses unknown, malformed and expired tokens with 401', async () => {
    const unknown = `uc_pat_${randomBytes(32).toString('base64url')}`;
    await t.http.get('/documents').set(bearer(unknown)).expect(401);
    await t.http.get('/documents').set(bearer('uc_pat_short')).expect(401);
    // Expired in the database: refused on the first use.
    const stale = await createToken(t, owner, ['documents:read']);
    await t.app
      .get(DataSource)
      .query(`UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [stale.id]);
    await t.http.get('/documents').set(bearer(stale.token)).expect(401);
    // Expiring while cached as live: refused from its expiry on.
    const expiresAt = new Date(Date.now() + 1500);
    const soon = await createToken(t, owner, ['documents:read'], { expiresAt: expiresAt.toISOString() });
    await t.http.get('/documents').set(bearer(soon.token)).expect(200);
    await t.http.get('/documents').set(bearer(soon.token)).expect(200);
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 10));
    await t.http.get('/documents').set(bearer(soon.token)).expect(401);
    await t.http.get(`/documents/${docId}`).set(bearer(soon.token)).expect(401);
  });

  it('records last use, at most once a minute', async () => {
    const account = await signUp(t);
    const first = await createToken(t, account, ['profile:read']);
    const second = await createToken(t, account, ['profile:read']);
    const lastUsed = async (id: string): Promise<string | null> => {
      const list = await t.http.get('/users/me/tokens').set(bearer(account.access)).expect(200);
      return list.body.items.find((item: { id: string }) => item.id === id).lastUsedAt;
    };
    const before = Date.now();
    await t.http.get('/users/me').set(bearer(first.token)).expect(200);
    const used = await until(
      () => lastUsed(first.id),
      (value) => value !== null,
    );
    expect(new Date(used!).getTime()).toBeGreaterThanOrEqual(before - 1000);
    await t.http.get('/users/me').set(bearer(first.token)).expect(200);
    await t.http.get('/auth/verify').set(bearer(first.token)).expect(200);
    // Another token's first use is written after anything those two would have written.
    await t.http.get('/users/me').set(bearer(second.token)).expect(200);
    await until(
      () => lastUsed(second.id),
      (value) => value !== null,
    );
    expect(await lastUsed(first.id)).toBe(used);
    expect(await lastUsed(second.id)).not.toBe(used);
  });

  it('stops working at once when its user is disabled or deleted', async () => {
    const admin = await signUp(t);
    await makeAdmin(t, admin.id);
    const disabled = await signUp(t);
    const deleted = await signUp(t);
    const a = await createToken(t, disabled, ['profile:read']);
    const b = await createToken(t, deleted, ['profile:read']);
    for (const token of [a.token, b.token]) {
      await t.http.get('/users/me').set(bearer(token)).expect(200);
      await t.http.get('/users/me').set(bearer(token)).expect(200);
    }
    await t.http.patch(`/users/${disabled.id}`).set(bearer(admin.access)).send({ disabled: true }).expect(200);
    await t.http.delete(`/users/${deleted.id}`).set(bearer(admin.access)).expect(204);
    await t.http.get('/users/me').set(bearer(a.token)).expect(401);
    await t.http.get('/users/me').set(bearer(b.token)).expect(401);
  });
});

if (REAL_REDIS_URL) {
  describe('two instances sharing PostgreSQL and Redis (real Redis only: memory cannot be shared)', () => {
    const apps = twoInstances();

    it('a token revoked on A is refused by B at once, on cached reads and elsewhere', async () => {
      const { a, b } = apps;
      const account = await signUp(a);
      const id = await upload(a, account, 'shared');
      const { id: tokenId, token } = await createToken(a, account, ['documents:read', 'profile:read']);
      // B learns whose token it is on its first use, so that first answer is not stored
      // (the next one is); from then on the first read of a path is stored and the next a hit.
      const paths = ['/documents', `/documents/${id}`, '/users/me'];
      for (const [n, path] of paths.entries()) {
        const caches: unknown[] = [];
        for (let i = 0; i < 3; i++)
          caches.push((await b.http.get(path).set(bearer(token)).expect(200)).headers['x-cache']);
        expect({ path, caches }).toEqual({ path, caches: n === 0 ? ['MISS', 'MISS', 'HIT'] : ['MISS', 'HIT', 'HIT'] });
      }
      await b.http.get(`/documents/${id}/content`).set(bearer(token)).expect(200);
      await a.http.delete(`/users/me/tokens/${tokenId}`).set(bearer(account.access)).expect(204);
      for (const path of ['/documents', `/documents/${id}`, '/users/me', `/documents/${id}/content`, '/auth/verify']) {
        const res = await b.http.get(path).set(bearer(token));
        expect({ path, status: res.status }).toEqual({ path, status: 401 });
      }
    });
  });
} else {
  process.stdout.write('tokens: the two-instance test is not registered: no REDIS_URL (memory cannot be shared)\n');
}
