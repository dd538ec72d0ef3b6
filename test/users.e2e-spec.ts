import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, logIn, makeAdmin, signUp } from './support/auth.js';
import { realPostgres, REAL_REDIS_URL } from './support/env.js';
import { spawnNode } from './support/process.js';

describe('users', () => {
  let t: TestApp;
  let admin: Account;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signUp(t, { username: 'the_admin' });
    await makeAdmin(t, admin.id);
  });
  afterAll(() => t.close());

  const count = async (sql: string, params: unknown[]) => Number((await t.app.get(DataSource).query(sql, params))[0].n);

  describe('your own account', () => {
    it('GET /users/me shows the profile without secrets', async () => {
      const me = await signUp(t);
      const res = await t.http.get('/users/me').set(bearer(me.access)).expect(200);
      expect(res.body).toMatchObject({ id: me.id, email: me.email, username: me.username, role: 'user' });
      expect(res.text).not.toMatch(/password|argon2|hash/i);
    });

    it('PATCH /users/me changes the username, and refuses bad ones and other fields', async () => {
      const me = await signUp(t);
      // A HIT right before the write: the read after it is fresh only if the write invalidated it.
      await t.http.get('/users/me').set(bearer(me.access)).expect(200);
      expect((await t.http.get('/users/me').set(bearer(me.access)).expect(200)).headers['x-cache']).toBe('HIT');
      const res = await t.http.patch('/users/me').set(bearer(me.access)).send({ username: 'new.name-1' }).expect(200);
      expect(res.body.username).toBe('new.name-1');
      await t.http.patch('/users/me').set(bearer(me.access)).send({ username: 'no spaces' }).expect(400);
      const escalate = await t.http
        .patch('/users/me')
        .set(bearer(me.access))
        .send({ username: 'sneaky', role: 'admin' })
        .expect(400);
      expect(escalate.body.errors.map((e: { field: string }) => e.field)).toContain('role');
      const after = await t.http.get('/users/me').set(bearer(me.access)).expect(200);
      expect(after.body).toMatchObject({ username: 'new.name-1', role: 'user' });
      expect(after.headers['x-cache']).toBe('MISS');
    });

    it('PUT /users/me/password checks the current one, then ends every other session', async () => {
      const me = await signUp(t);
      const laptop = await logIn(t, me.email, me.password);
      await t.http.get('/users/me').set(bearer(laptop.access)).expect(200);

      await t.http
        .put('/users/me/password')
        .set(bearer(me.access))
        .send({ currentPassword: 'wrong-one', newPassword: 'brand new password' })
        .expect(403);
      await t.http
        .put('/users/me/password')
        .set(bearer(me.access))
        .send({ currentPassword: me.password, newPassword: 'short' })
        .expect(400);
      await t.http
        .put('/users/me/password')
        .set(bearer(me.access))
        .send({ currentPassword: me.password, newPassword: 'brand new password' })
        .expect(204);

      await t.http.get('/users/me').set(bearer(laptop.access)).expect(401);
      await t.http.post('/auth/refresh').send({ refresh_token: laptop.refresh }).expect(401);
      await t.http.get('/users/me').set(bearer(me.access)).expect(200);
      await t.http.post('/auth/login').send({ email: me.email, password: me.password }).expect(401);
      await logIn(t, me.email, 'brand new password');
    });

    it('DELETE /users/me needs the password, then removes the account and its sessions', async () => {
      const me = await signUp(t);
      await t.http.delete('/users/me').set(bearer(me.access)).send({ password: 'not it' }).expect(403);
      await t.http.delete('/users/me').set(bearer(me.access)).send({}).expect(400);
      await t.http.delete('/users/me').set(bearer(me.access)).send({ password: me.password }).expect(204);
      await t.http.get('/users/me').set(bearer(me.access)).expect(401);
      await t.http.post('/auth/login').send({ email: me.email, password: me.password }).expect(401);
      expect(await count('SELECT count(*) AS n FROM users WHERE id = $1', [me.id])).toBe(0);
      expect(await count('SELECT count(*) AS n FROM sessions WHERE user_id = $1', [me.id])).toBe(0);
    });
  });

  describe('admin routes', () => {
    it('are 403 for a plain user, every one of them', async () => {
      const user = await signUp(t);
      const other = await signUp(t);
      const calls = [
        t.http.get('/users'),
        t.http.get(`/users/${other.id}`),
        t.http.patch(`/users/${other.id}`).send({ disabled: true }),
        t.http.delete(`/users/${other.id}`),
      ];
      for (const call of calls) {
        const res = await call.set(bearer(user.access));
        expect(res.status).toBe(403);
        expect(res.headers['content-type']).toMatch(/problem\+json/);
      }
      await t.http.get('/users/me').set(bearer(other.access)).expect(200);
    });

    it('GET /users pages through every user with a stable cursor and filters with q', async () => {
      for (let i = 0; i < 5; i++) await signUp(t, { username: `pager_${i}` });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await t.http
          .get(`/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
          .set(bearer(admin.access))
          .expect(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((u) => u.id));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor);
      const total = await count('SELECT count(*) AS n FROM users', []);
      expect(pages).toBeGreaterThan(2);
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);

      const filtered = await t.http.get('/users?q=PAGER_').set(bearer(admin.access)).expect(200);
      expect(filtered.body.items.map((u: { username: string }) => u.username).sort()).toEqual([
        'pager_0',
        'pager_1',
        'pager_2',
        'pager_3',
        'pager_4',
      ]);
      const literal = await t.http.get('/users?q=%25').set(bearer(admin.access)).expect(200);
      expect(literal.body.items).toEqual([]);
      expect(JSON.stringify(filtered.body)).not.toMatch(/password|argon2/i);
    });

    it('refuses bad paging input with 400', async () => {
      for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=bm9wZQ', 'unknown=1']) {
        const res = await t.http.get(`/users?${query}`).set(bearer(admin.access));
        expect(res.status).toBe(400);
      }
    });

    it('GET /users/:id: 200, 404 for an unknown id, 400 for a malformed one', async () => {
      const user = await signUp(t);
      const res = await t.http.get(`/users/${user.id}`).set(bearer(admin.access)).expect(200);
      expect(res.body.email).toBe(user.email);
      await t.http.get('/users/00000000-0000-4000-8000-000000000000').set(bearer(admin.access)).expect(404);
      await t.http.get('/users/42').set(bearer(admin.access)).expect(400);
    });

    it('disabling a user stops their tokens at once and their logins; re-enabling allows a new login', async () => {
      const user = await signUp(t);
      await t.http.get('/users/me').set(bearer(user.access)).expect(200);
      const res = await t.http
        .patch(`/users/${user.id}`)
        .set(bearer(admin.access))
        .send({ disabled: true })
        .expect(200);
      expect(res.body.disabled).toBe(true);
      await t.http.get('/users/me').set(bearer(user.access)).expect(401);
      await t.http.post('/auth/login').send({ email: user.email, password: user.password }).expect(401);
      await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ disabled: false }).expect(200);
      await t.http.get('/users/me').set(bearer(user.access)).expect(401);
      await logIn(t, user.email, user.password);
    });

    it('promoting a user opens the admin routes to them at once', async () => {
      const user = await signUp(t);
      await t.http.get('/users').set(bearer(user.access)).expect(403);
      await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ role: 'admin' }).expect(200);
      await t.http.get('/users').set(bearer(user.access)).expect(200);
      await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ role: 'user' }).expect(200);
      await t.http.get('/users').set(bearer(user.access)).expect(403);
    });

    it('an admin cannot demote, disable or delete themselves through the admin routes', async () => {
      await t.http.patch(`/users/${admin.id}`).set(bearer(admin.access)).send({ role: 'user' }).expect(403);
      await t.http.patch(`/users/${admin.id}`).set(bearer(admin.access)).send({ disabled: true }).expect(403);
      await t.http.delete(`/users/${admin.id}`).set(bearer(admin.access)).expect(403);
      await t.http.get('/users').set(bearer(admin.access)).expect(200);
    });

    it('refuses an unknown role, and null for role or disabled', async () => {
      const user = await signUp(t);
      await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ role: 'root' }).expect(400);
      await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ role: null }).expect(400);
      await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ disabled: null }).expect(400);
    });

    it('DELETE /users/:id removes the user; their token stops at once; then 404', async () => {
      const user = await signUp(t);
      await t.http.get('/users/me').set(bearer(user.access)).expect(200);
      await t.http.delete(`/users/${user.id}`).set(bearer(admin.access)).expect(204);
      await t.http.get('/users/me').set(bearer(user.access)).expect(401);
      await t.http.delete(`/users/${user.id}`).set(bearer(admin.access)).expect(404);
    });
  });
});

describe('at least one enabled administrator remains', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  type Act = (actor: Account, target: Account) => ReturnType<TestApp['http']['get']>;
  const acts: Array<[string, Act]> = [
    ['demote', (actor, target) => t.http.patch(`/users/${target.id}`).set(bearer(actor.access)).send({ role: 'user' })],
    [
      'disable',
      (actor, target) => t.http.patch(`/users/${target.id}`).set(bearer(actor.access)).send({ disabled: true }),
    ],
    ['delete', (actor, target) => t.http.delete(`/users/${target.id}`).set(bearer(actor.access))],
  ];

  it.each(acts)(
    'two administrators who %s each other at the same moment leave one of them (races on real PostgreSQL)',
    async (_name, act) => {
      for (let round = 0; round < 4; round++) {
        const pair = [await signUp(t), await signUp(t)];
        for (const admin of pair) await makeAdmin(t, admin.id);
        const answers = await Promise.all([act(pair[0], pair[1]), act(pair[1], pair[0])]);
        const statuses = answers.map((res) => res.status);
        expect(statuses.filter((s) => s === 200 || s === 204)).toHaveLength(1);
        const loser = answers.find((res) => res.status !== 200 && res.status !== 204)!;
        expect([401, 403]).toContain(loser.status);
        expect(loser.headers['content-type']).toMatch(/problem\+json/);
        const admins = await t.app
          .get(DataSource)
          .query(`SELECT id FROM users WHERE id = ANY($1::uuid[]) AND role = 'admin' AND NOT disabled`, [
            pair.map((a) => a.id),
          ]);
        expect(admins).toHaveLength(1);
        const survivor = pair.find((a) => a.id === admins[0].id)!;
        await t.http.get('/users').set(bearer(survivor.access)).expect(200);
      }
    },
  );
});

describe('strict limit on the routes that check a password (argon2)', () => {
  const MAX = 3;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_RATE_LIMIT_MAX: String(MAX), TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  let n = 0;
  /** An account registered and logged in from an address of its own (the auth routes are limited too). */
  async function account(): Promise<Account> {
    n += 1;
    const ip = { 'x-forwarded-for': `10.1.0.${n}` };
    const email = `argon.${n}@example.com`;
    const password = 'a long enough password';
    const created = await t.http
      .post('/auth/register')
      .set(ip)
      .send({ email, username: `argon_${n}`, password });
    const login = await t.http.post('/auth/login').set(ip).send({ email, password }).expect(200);
    return {
      id: created.body.id,
      email,
      username: `argon_${n}`,
      password,
      access: login.body.access_token,
      refresh: login.body.refresh_token,
    };
  }
  const changePassword = (who: Account, ip: string) =>
    t.http
      .put('/users/me/password')
      .set(bearer(who.access))
      .set('x-forwarded-for', ip)
      .send({ currentPassword: 'a wrong guess', newPassword: 'brand new password' });
  const deleteMe = (who: Account, ip: string) =>
    t.http.delete('/users/me').set(bearer(who.access)).set('x-forwarded-for', ip).send({ password: 'a wrong guess' });

  it.each([
    ['PUT /users/me/password', changePassword],
    ['DELETE /users/me', deleteMe],
  ])('%s: per user, whatever the IP, then 429 with Retry-After', async (_name, call) => {
    const me = await account();
    const statuses: number[] = [];
    for (let i = 0; i <= MAX; i++) statuses.push((await call(me, `203.0.113.${i}`)).status);
    expect(statuses).toEqual([...Array(MAX).fill(403), 429]);
    const refused = await call(me, '203.0.113.200').expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body.type).toBe('urn:ultrai:problem:rate-limited');
    // The account still works, and the stolen token cannot guess on.
    await t.http.get('/users/me').set(bearer(me.access)).expect(200);
  });

  it.each([
    ['PUT /users/me/password', changePassword],
    ['DELETE /users/me', deleteMe],
  ])('%s: per IP, whatever the account', async (_name, call) => {
    const statuses: number[] = [];
    for (let i = 0; i <= MAX; i++) statuses.push((await call(await account(), '198.51.100.77')).status);
    expect(statuses).toEqual([...Array(MAX).fill(403), 429]);
  });

  it('counts each route apart', async () => {
    const me = await account();
    for (let i = 0; i < MAX; i++) await changePassword(me, `192.0.2.${i}`).expect(403);
    await changePassword(me, '192.0.2.50').expect(429);
    await deleteMe(me, '192.0.2.51').expect(403);
  });
});

if (realPostgres && REAL_REDIS_URL) {
  describe('operator CLI while the server runs (real PostgreSQL and Redis)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    it('a role changed with the CLI shows at once in /users/me, even when it was cached', async () => {
      const user = await signUp(t);
      const env = { ...t.db.env, REDIS_URL: REAL_REDIS_URL!, REDIS_KEY_PREFIX: t.config.redisKeyPrefix };
      for (const [command, role] of [
        ['users:promote', 'admin'],
        ['users:demote', 'user'],
      ]) {
        await t.http.get('/users/me').set(bearer(user.access)).expect(200);
        const warm = await t.http.get('/users/me').set(bearer(user.access)).expect(200);
        expect(warm.headers['x-cache']).toBe('HIT');
        const cli = spawnNode(['dist/cli.js', command, user.email], env);
        expect({ code: (await cli.exit).code, output: cli.output() }).toEqual({
          code: 0,
          output: expect.stringContaining(user.email),
        });
        const after = await t.http.get('/users/me').set(bearer(user.access)).expect(200);
        expect({ role: after.body.role, cache: after.headers['x-cache'] }).toEqual({ role, cache: 'MISS' });
      }
    });
  });
} else {
  process.stdout.write(
    'users: the CLI-while-serving test is not registered: it needs DATABASE_URL and REDIS_URL ' +
      '(the embedded database admits one process, and an in-memory cache cannot be reached from another)\n',
  );
}

describe('operator CLI: users:promote and users:demote', () => {
  it('promotes and demotes by email, and names an unknown email clearly', async () => {
    const first = await startTestApp();
    const db = first.db;
    const user = await signUp(first, { email: 'operator.target@example.com' });
    await first.app.close(); // the CLI opens the database itself (the embedded one allows one process)
    try {
      const unknown = spawnNode(['dist/cli.js', 'users:promote', 'nobody@example.com'], db.env);
      expect((await unknown.exit).code).toBe(1);
      expect(unknown.output()).toMatch(/No user has the email nobody@example.com/);
      expect(unknown.output()).not.toMatch(/\n\s+at /);

      const usage = spawnNode(['dist/cli.js', 'users:promote'], db.env);
      expect((await usage.exit).code).toBe(2);

      const promote = spawnNode(['dist/cli.js', 'users:promote', ' Operator.Target@example.com'], db.env);
      expect((await promote.exit).code).toBe(0);
      expect(promote.output()).toMatch(/operator.target@example.com is now an administrator/);

      const second = await startTestApp({ db });
      try {
        const { access } = await logIn(second, user.email, user.password);
        await second.http.get('/users').set(bearer(access)).expect(200);
      } finally {
        await second.app.close();
      }

      const demote = spawnNode(['dist/cli.js', 'users:demote', user.email], db.env);
      expect((await demote.exit).code).toBe(0);
      const third = await startTestApp({ db });
      try {
        const { access } = await logIn(third, user.email, user.password);
        await third.http.get('/users').set(bearer(access)).expect(403);
      } finally {
        await third.app.close();
      }
    } finally {
      await db.drop();
    }
  });
});
