import { randomBytes, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import argon2 from 'argon2';
import { DataSource } from 'typeorm';
import { SessionsRepository } from '../src/sessions/sessions.repository.js';
import { SessionsService } from '../src/sessions/sessions.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { bearer, craftJwt, decodeJwt, logIn, signUp } from './support/auth.js';
import { TEST_JWT_SECRET } from './support/env.js';

const GRACE_SECONDS = 1;

describe('auth', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS) } });
  });
  afterAll(() => t.close());

  /** No response may ever carry a password, a hash or a stored refresh-token hash. */
  async function storedSecrets(): Promise<string[]> {
    const db = t.app.get(DataSource);
    const users: Array<{ password_hash: string }> = await db.query('SELECT password_hash FROM users');
    const sessions: Array<{ refresh_token_hash: string; previous_token_hash: string | null }> = await db.query(
      'SELECT refresh_token_hash, previous_token_hash FROM sessions',
    );
    return [
      ...users.map((u) => u.password_hash),
      ...sessions.flatMap((s) => [s.refresh_token_hash, s.previous_token_hash ?? '']).filter(Boolean),
    ];
  }

  function expectNoSecrets(text: string, secrets: string[], password?: string): void {
    expect(text).not.toMatch(/password_?hash|\$argon2/i);
    for (const secret of secrets) expect(text).not.toContain(secret);
    if (password) expect(text).not.toContain(password);
  }

  describe('POST /auth/register', () => {
    it('creates the account, with a trimmed lower-cased email and nothing secret in the answer', async () => {
      const res = await t.http
        .post('/auth/register')
        .send({ email: '  Grace.Hopper@Example.COM ', username: 'grace.h', password: 'cobol-forever-1959' })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        email: 'grace.hopper@example.com',
        username: 'grace.h',
        emailVerified: false,
        role: 'user',
        disabled: false,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expectNoSecrets(res.text, await storedSecrets(), 'cobol-forever-1959');
    });

    it('answers 409 for an email already taken, whatever its case and spaces', async () => {
      await t.http
        .post('/auth/register')
        .send({ email: 'dup@example.com', username: 'dup1', password: 'password-1' })
        .expect(201);
      const res = await t.http
        .post('/auth/register')
        .send({ email: ' DUP@example.com', username: 'dup2', password: 'password-2' })
        .expect(409);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body.type).toBe('urn:ultrai:problem:email-taken');
    });

    it.each([
      ['a bad email', { email: 'not-an-email', username: 'okname', password: 'password-ok' }, 'email'],
      ['a 7-character password', { email: 'a@example.com', username: 'okname', password: '1234567' }, 'password'],
      [
        'a 129-character password',
        { email: 'a@example.com', username: 'okname', password: 'x'.repeat(129) },
        'password',
      ],
      ['a 2-character username', { email: 'a@example.com', username: 'ab', password: 'password-ok' }, 'username'],
      [
        'a 33-character username',
        { email: 'a@example.com', username: 'a'.repeat(33), password: 'password-ok' },
        'username',
      ],
      [
        'a username with a space',
        { email: 'a@example.com', username: 'bad name', password: 'password-ok' },
        'username',
      ],
      ['a missing password', { email: 'a@example.com', username: 'okname' }, 'password'],
      ['a number for the email', { email: 42, username: 'okname', password: 'password-ok' }, 'email'],
      [
        'an unknown field',
        { email: 'a@example.com', username: 'okname', password: 'password-ok', role: 'admin' },
        'role',
      ],
    ])('refuses %s with 400 naming the field, and stores nothing', async (_name, body, field) => {
      const res = await t.http.post('/auth/register').send(body).expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      const rows = await t.app.get(DataSource).query(`SELECT 1 FROM users WHERE email = 'a@example.com'`);
      expect(rows).toHaveLength(0);
    });

    it('accepts exactly 8 and exactly 128 characters of password, and refuses 7 and 129', async () => {
      // Everything but the password is valid, so a refusal can only be the password's.
      for (const password of ['1234567', 'y'.repeat(129)]) {
        const refused = await t.http
          .post('/auth/register')
          .send({ email: 'plen@example.com', username: 'plen_user', password })
          .expect(400);
        expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual(['password']);
      }
      const eight = await t.http
        .post('/auth/register')
        .send({ email: 'plen@example.com', username: 'plen_user', password: '12345678' })
        .expect(201);
      expect(eight.body).toMatchObject({ email: 'plen@example.com', username: 'plen_user' });
      const long = await t.http
        .post('/auth/register')
        .send({ email: 'p128@example.com', username: 'p128', password: 'y'.repeat(128) })
        .expect(201);
      expect(long.body).toMatchObject({ email: 'p128@example.com' });
    });

    it.each([
      ['an array', '[1,2]'],
      ['a string', '"hello"'],
      ['null', 'null'],
    ])('refuses %s as the body with a 4xx problem', async (_name, raw) => {
      const res = await t.http.post('/auth/register').set('content-type', 'application/json').send(raw);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, title: 'Bad Request', detail: expect.any(String) });
      expect(res.body.type).toMatch(/^urn:ultrai:problem:/);
    });
  });

  describe('POST /auth/login', () => {
    it('still verifies hashes made with other argon2 parameters (they are stored in the hash)', async () => {
      const account = await signUp(t);
      const others: argon2.HashOptions[] = [
        { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 },
        { type: argon2.argon2i, memoryCost: 4096, timeCost: 3, parallelism: 2 },
      ];
      for (const options of others) {
        const hash = await argon2.hash(account.password, options);
        await t.app.get(DataSource).query('UPDATE users SET password_hash = $1 WHERE id = $2', [hash, account.id]);
        const res = await t.http.post('/auth/login').send({ email: account.email, password: account.password });
        expect({ options, status: res.status }).toEqual({ options, status: 200 });
        expect(res.body.access_token).toEqual(expect.any(String));
        const wrong = await t.http.post('/auth/login').send({ email: account.email, password: 'not the password' });
        expect(wrong.status).toBe(401);
      }
    });

    it('returns the legacy token fields plus expiry and a refresh token', async () => {
      const { email, password } = await signUp(t);
      const res = await t.http.post('/auth/login').send({ email: email.toUpperCase(), password }).expect(200);
      expect(res.body).toMatchObject({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: 900,
        refresh_token: expect.any(String),
        refresh_expires_in: 30 * 86_400,
      });
      const claims = decodeJwt(res.body.access_token);
      expect(claims).toMatchObject({ typ: 'access', sub: res.body.user.id, sid: expect.any(String) });
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);
      expectNoSecrets(res.text, await storedSecrets(), password);
    });

    it('gives one identical 401 for an unknown email, a wrong password and a disabled account', async () => {
      const disabled = await signUp(t);
      await t.app.get(DataSource).query('UPDATE users SET disabled = true WHERE id = $1', [disabled.id]);
      const known = await signUp(t);
      const answers = await Promise.all([
        t.http.post('/auth/login').send({ email: 'nobody@example.com', password: 'whatever-123' }),
        t.http.post('/auth/login').send({ email: known.email, password: 'wrong-password' }),
        t.http.post('/auth/login').send({ email: disabled.email, password: disabled.password }),
      ]);
      for (const res of answers) {
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      const strip = ({ requestId: _r, ...rest }: Record<string, unknown>) => rest;
      expect(strip(answers[1].body)).toEqual(strip(answers[0].body));
      expect(strip(answers[2].body)).toEqual(strip(answers[0].body));
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates: a new pair, and the new refresh token works in turn', async () => {
      const account = await signUp(t);
      const first = await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(200);
      expect(first.body.refresh_token).not.toBe(account.refresh);
      expect(decodeJwt(first.body.access_token).sid).toBe(decodeJwt(account.access).sid);
      await t.http.get('/users/me').set(bearer(first.body.access_token)).expect(200);
      const second = await t.http.post('/auth/refresh').send({ refresh_token: first.body.refresh_token }).expect(200);
      expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    });

    it('accepts the token just rotated away within the grace window (two tabs at once)', async () => {
      const account = await signUp(t);
      const [a, b] = await Promise.all([
        t.http.post('/auth/refresh').send({ refresh_token: account.refresh }),
        t.http.post('/auth/refresh').send({ refresh_token: account.refresh }),
      ]);
      expect([a.status, b.status]).toEqual([200, 200]);
      await t.http.get('/users/me').set(bearer(a.body.access_token)).expect(200);
      await t.http.get('/users/me').set(bearer(b.body.access_token)).expect(200);
    });

    it('revokes the whole session when a rotated token is replayed after the grace window', async () => {
      const account = await signUp(t);
      const rotated = await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(200);
      // Past the grace window without waiting for it: the rotation happened longer ago.
      await t.app
        .get(DataSource)
        .query(`UPDATE sessions SET rotated_at = rotated_at - interval '${GRACE_SECONDS + 1} seconds' WHERE id = $1`, [
          decodeJwt(account.access).sid,
        ]);
      const replay = await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(401);
      expect(replay.body.type).toBe('urn:ultrai:problem:refresh-token-reused');
      // The thief and the owner are both out: the newest tokens of the session fail too.
      await t.http.post('/auth/refresh').send({ refresh_token: rotated.body.refresh_token }).expect(401);
      await t.http.get('/users/me').set(bearer(rotated.body.access_token)).expect(401);
      await t.http.get('/users/me').set(bearer(account.access)).expect(401);
    });

    it('an unknown secret for a real session is a plain 401 that changes nothing (the session id is public)', async () => {
      const account = await signUp(t);
      const sid = decodeJwt(account.access).sid as string;
      const forged = `${sid}.${randomBytes(32).toString('base64url')}`;
      const res = await t.http.post('/auth/refresh').send({ refresh_token: forged }).expect(401);
      expect(res.body.type).toBe('urn:ultrai:problem:unauthorized');
      // The owner noticed nothing: the access token and the refresh token still work.
      await t.http.get('/users/me').set(bearer(account.access)).expect(200);
      await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(200);
    });

    it('still takes a token from several rotations back as reuse, and revokes the session', async () => {
      const account = await signUp(t);
      let latest = account.refresh;
      for (let i = 0; i < 3; i++) {
        latest = (await t.http.post('/auth/refresh').send({ refresh_token: latest }).expect(200)).body.refresh_token;
      }
      const replay = await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(401);
      expect(replay.body.type).toBe('urn:ultrai:problem:refresh-token-reused');
      await t.http.post('/auth/refresh').send({ refresh_token: latest }).expect(401);
      await t.http.get('/users/me').set(bearer(account.access)).expect(401);
    });

    it.each([
      ['garbage', 'not-a-token'],
      ['an unknown session', `${randomUUID()}.${'a'.repeat(43)}`],
      ['an overlong value', 'x'.repeat(500)],
    ])('refuses %s', async (_name, token) => {
      const res = await t.http.post('/auth/refresh').send({ refresh_token: token });
      expect([400, 401]).toContain(res.status);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    });

    it('refuses an access token presented as a refresh token', async () => {
      const account = await signUp(t);
      await t.http.post('/auth/refresh').send({ refresh_token: account.access }).expect(401);
    });

    it('refuses the refresh token of a disabled user', async () => {
      const account = await signUp(t);
      await t.app.get(DataSource).query('UPDATE users SET disabled = true WHERE id = $1', [account.id]);
      await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(401);
    });
  });

  describe('logout', () => {
    it('POST /auth/logout makes the access and refresh tokens fail at once', async () => {
      const account = await signUp(t);
      await t.http.get('/users/me').set(bearer(account.access)).expect(200); // now cached as live
      await t.http.post('/auth/logout').set(bearer(account.access)).expect(204);
      await t.http.get('/users/me').set(bearer(account.access)).expect(401);
      await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(401);
    });

    it('a revocation racing with the session-cache fill does not leave the session cached as live', async () => {
      const account = await signUp(t);
      const repo = t.app.get(SessionsRepository);
      const sessions = t.app.get(SessionsService);
      const lookup = repo.findState.bind(repo);
      // The session is read as live, then revoked before the guard gets to cache that answer.
      const spy = jest.spyOn(repo, 'findState').mockImplementationOnce(async (sessionId, userId) => {
        const found = await lookup(sessionId, userId);
        await sessions.revoke(sessionId, userId);
        return found;
      });
      try {
        await t.http.get('/protected').set(bearer(account.access)).expect(200); // began before the revocation
      } finally {
        spy.mockRestore();
      }
      const after = await t.http.get('/protected').set(bearer(account.access));
      expect(after.status).toBe(401);
      await t.http.post('/auth/refresh').send({ refresh_token: account.refresh }).expect(401);
    });

    it('POST /auth/logout-all ends every session of the account', async () => {
      const account = await signUp(t);
      const other = await logIn(t, account.email, account.password);
      await t.http.get('/users/me').set(bearer(other.access)).expect(200);
      await t.http.post('/auth/logout-all').set(bearer(account.access)).expect(204);
      await t.http.get('/users/me').set(bearer(account.access)).expect(401);
      await t.http.get('/users/me').set(bearer(other.access)).expect(401);
      await t.http.post('/auth/refresh').send({ refresh_token: other.refresh }).expect(401);
    });
  });

  describe('sessions', () => {
    it('lists the active sessions, marks the current one, pages, and revokes one by id', async () => {
      const account = await signUp(t);
      const phone = await logIn(t, account.email, account.password);
      const list = await t.http.get('/auth/sessions').set(bearer(account.access)).set('user-agent', 'x').expect(200);
      expect(list.body.items).toHaveLength(2);
      expect(list.body.nextCursor).toBeNull();
      for (const s of list.body.items) {
        expect(Object.keys(s).sort()).toEqual(['createdAt', 'current', 'id', 'ip', 'lastUsedAt', 'userAgent']);
      }
      const current = list.body.items.find((s: { current: boolean }) => s.current);
      expect(current.id).toBe(decodeJwt(account.access).sid);

      const page1 = await t.http.get('/auth/sessions?limit=1').set(bearer(account.access)).expect(200);
      expect(page1.body.items).toHaveLength(1);
      const page2 = await t.http
        .get(`/auth/sessions?limit=1&cursor=${page1.body.nextCursor}`)
        .set(bearer(account.access))
        .expect(200);
      expect(page2.body.items).toHaveLength(1);
      expect(page2.body.nextCursor).toBeNull();
      expect(page2.body.items[0].id).not.toBe(page1.body.items[0].id);

      const phoneSid = decodeJwt(phone.access).sid;
      await t.http.get('/users/me').set(bearer(phone.access)).expect(200);
      await t.http.delete(`/auth/sessions/${phoneSid}`).set(bearer(account.access)).expect(204);
      await t.http.get('/users/me').set(bearer(phone.access)).expect(401);
      await t.http.get('/users/me').set(bearer(account.access)).expect(200);
      await t.http.delete(`/auth/sessions/${phoneSid}`).set(bearer(account.access)).expect(404);
    });

    it("another user's session is a 404, and a malformed id a 400", async () => {
      const alice = await signUp(t);
      const bob = await signUp(t);
      const bobSid = decodeJwt(bob.access).sid;
      await t.http.delete(`/auth/sessions/${bobSid}`).set(bearer(alice.access)).expect(404);
      await t.http.get('/users/me').set(bearer(bob.access)).expect(200);
      const bad = await t.http.delete('/auth/sessions/not-a-uuid').set(bearer(alice.access)).expect(400);
      expect(bad.body.errors).toEqual([{ field: 'id', message: 'id must be a UUID' }]);
      await t.http.get('/auth/sessions?cursor=garbage').set(bearer(alice.access)).expect(400);
    });
  });

  describe('legacy routes', () => {
    it('GET /auth/verify answers valid with the email', async () => {
      const account = await signUp(t);
      const res = await t.http.get('/auth/verify').set(bearer(account.access)).expect(200);
      expect(res.body).toMatchObject({ valid: true, email: account.email, id: account.id });
    });

    it('GET /protected answers with a message and the user', async () => {
      const account = await signUp(t);
      const res = await t.http.get('/protected').set(bearer(account.access)).expect(200);
      expect(res.body).toEqual({
        message: expect.any(String),
        user: { id: account.id, email: account.email, username: account.username },
      });
    });

    it('both are 401 without a token', async () => {
      for (const path of ['/auth/verify', '/protected']) {
        const res = await t.http.get(path).expect(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.headers['content-type']).toMatch(/problem\+json/);
      }
    });
  });

  describe('malformed and unacceptable access tokens', () => {
    let account: Awaited<ReturnType<typeof signUp>>;
    let claims: Record<string, unknown>;
    beforeAll(async () => {
      account = await signUp(t);
      claims = decodeJwt(account.access);
    });

    const now = () => Math.floor(Date.now() / 1000);
    const cases: Array<[string, () => Record<string, string>]> = [
      ['no Authorization header', () => ({})],
      ['an empty bearer', () => ({ authorization: 'Bearer ' })],
      ['another scheme', () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })],
      ['garbage', () => bearer('garbage.garbage.garbage')],
      ['alg none', () => bearer(craftJwt({ alg: 'none', typ: 'JWT' }, claims, ''))],
      [
        'alg HS512 with the right secret',
        () => bearer(craftJwt({ alg: 'HS512', typ: 'JWT' }, claims, TEST_JWT_SECRET, 'sha512')),
      ],
      [
        'alg HS384 with the right secret',
        () => bearer(craftJwt({ alg: 'HS384', typ: 'JWT' }, claims, TEST_JWT_SECRET, 'sha384')),
      ],
      [
        'a wrong signature',
        () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, claims, 'not-the-secret-not-the-secret-000')),
      ],
      [
        'an expired token',
        () =>
          bearer(
            craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now() - 1000, exp: now() - 10 }, TEST_JWT_SECRET),
          ),
      ],
      ['a refresh token', () => bearer(account.refresh)],
      [
        'a token of type refresh',
        () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, typ: 'refresh' }, TEST_JWT_SECRET)),
      ],
      [
        'a token without exp (it would never expire)',
        () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: undefined }, TEST_JWT_SECRET)),
      ],
      [
        'a token without a session',
        () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sid: undefined }, TEST_JWT_SECRET)),
      ],
      [
        'a token for a session that does not exist',
        () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sid: randomUUID() }, TEST_JWT_SECRET)),
      ],
      [
        'a token whose session belongs to someone else',
        () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sub: randomUUID() }, TEST_JWT_SECRET)),
      ],
    ];

    it('a well-formed token of ours is accepted (the control case)', async () => {
      await t.http
        .get('/users/me')
        .set(bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, claims, TEST_JWT_SECRET)))
        .expect(200);
    });

    it('refuses a token it accepted once that token has expired (a verified token is remembered only until exp)', async () => {
      const exp = now() + 2;
      const token = bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp }, TEST_JWT_SECRET));
      await t.http.get('/users/me').set(token).expect(200);
      // Until the clock has passed the token's exp (jsonwebtoken's rule: now >= exp is expired).
      while (now() < exp) await new Promise((resolve) => setTimeout(resolve, 100));
      const res = await t.http.get('/users/me').set(token);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it.each(cases)('refuses %s with 401 problem+json', async (_name, headers) => {
      const res = await t.http.get('/users/me').set(headers());
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });

    it('refuses the token of a deleted account at once', async () => {
      const doomed = await signUp(t);
      await t.http.get('/users/me').set(bearer(doomed.access)).expect(200);
      await t.http.delete('/users/me').set(bearer(doomed.access)).send({ password: doomed.password }).expect(204);
      await t.http.get('/users/me').set(bearer(doomed.access)).expect(401);
    });
  });
});

describe('failed logins per account, across IPs', () => {
  const FAILURES = 3;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TRUST_PROXY: '1', ACCOUNT_LOGIN_FAILURES_MAX: String(FAILURES) } });
  });
  afterAll(() => t.close());

  const attempt = (email: string, password: string, ip: string) =>
    t.http.post('/auth/login').set('x-forwarded-for', ip).send({ email, password });
  const strip = ({ requestId: _r, ...rest }: Record<string, unknown>) => rest;
  /** Waits out a Retry-After (the delay is the thing under test: there is no event to await). */
  const waitOut = (res: { headers: Record<string, string> }) =>
    new Promise((r) => setTimeout(r, Number(res.headers['retry-after']) * 1000 + 100));

  it('slows an account down after repeated failures from many IPs, then lets the owner in once the delay is over', async () => {
    const victim = await signUp(t);
    for (let i = 0; i < FAILURES; i++) {
      await attempt(victim.email, 'wrong-password', `203.0.113.${i}`).expect(401);
    }
    const slowed = await attempt(victim.email, 'wrong-password', '203.0.113.50').expect(429);
    expect(slowed.headers['content-type']).toMatch(/problem\+json/);
    expect(slowed.body).toMatchObject({ status: 429, type: 'urn:ultrai:problem:rate-limited' });
    expect(Number(slowed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // While slowed down, even the right password waits (it is not checked: no oracle for a guesser).
    const owner = await attempt(victim.email, victim.password, '198.51.100.1').expect(429);
    // Another account is not affected.
    const other = await signUp(t);
    await attempt(other.email, other.password, '203.0.113.50').expect(200);

    await waitOut(owner);
    await attempt(victim.email, victim.password, '198.51.100.1').expect(200);
    // A success clears the count: the next failure is an ordinary 401.
    await attempt(victim.email, 'wrong-password', '203.0.113.60').expect(401);
  });

  it('grows the delay with each further failure, within a bound', async () => {
    const victim = await signUp(t);
    for (let i = 0; i < FAILURES; i++) await attempt(victim.email, 'wrong-password', `192.0.2.${i}`).expect(401);
    const first = await attempt(victim.email, 'wrong-password', '192.0.2.90').expect(429);
    await waitOut(first);
    await attempt(victim.email, 'wrong-password', '192.0.2.91').expect(401);
    const second = await attempt(victim.email, 'wrong-password', '192.0.2.92').expect(429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(Number(first.headers['retry-after']));
    expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(t.config.accountLoginDelayMaxSeconds);
  });

  it('treats an unknown email exactly like a known one (no enumeration)', async () => {
    const known = await signUp(t);
    const answers: Record<string, { status: number; retryAfter: string; body: Record<string, unknown> }> = {};
    for (const email of [known.email, `ghost.${randomUUID().slice(0, 8)}@example.com`]) {
      const statuses: number[] = [];
      for (let i = 0; i <= FAILURES; i++)
        statuses.push((await attempt(email, 'wrong-password', `198.18.0.${i}`)).status);
      expect(statuses).toEqual([...Array(FAILURES).fill(401), 429]);
      const res = await attempt(email, 'wrong-password', '198.18.1.1');
      answers[email === known.email ? 'known' : 'unknown'] = {
        status: res.status,
        retryAfter: res.headers['retry-after'],
        body: strip(res.body),
      };
    }
    expect(answers.unknown).toEqual(answers.known);
  });
});
