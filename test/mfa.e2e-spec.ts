import { Secret, TOTP } from 'otpauth';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, makeAdmin, signUp } from './support/auth.js';
import { twoInstances } from './support/instances.js';
import { REAL_REDIS_URL } from './support/env.js';

const PERIOD_MS = 30_000;
const step = (at = Date.now()) => Math.floor(at / PERIOD_MS);

/** The code an authenticator app shows at `step` (RFC 6238, SHA-1, 6 digits, 30 s). */
function codeAt(secret: string, at: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    timestamp: at * PERIOD_MS,
  });
}

/** A 6-digit code that is none of the ones the server accepts right now. */
function wrongCode(secret: string, at: number): string {
  const valid = new Set([at - 1, at, at + 1, at + 2].map((s) => codeAt(secret, s)));
  let n = 0;
  while (valid.has(String(n).padStart(6, '0'))) n++;
  return String(n).padStart(6, '0');
}

/**
 * The server accepts the codes of the step before, the current one and the one after. A
 * test uses the steps around the one it started in (`at`): it waits, if need be, until
 * that step has time left for the whole test, so that none of them goes out of the window.
 */
async function stepWithRoom(roomMs = 15_000): Promise<number> {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < roomMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
  return step();
}

interface Enrolled extends Account {
  secret: string;
  recoveryCodes: string[];
}

/** Enrols and confirms with the code of the step before `at`, leaving `at` and `at + 1` for the test. */
async function enrol(t: TestApp, at: number): Promise<Enrolled> {
  const account = await signUp(t);
  const started = await t.http
    .post('/users/me/mfa/totp')
    .set(bearer(account.access))
    .send({ password: account.password })
    .expect(200);
  const confirmed = await t.http
    .post('/users/me/mfa/totp/confirm')
    .set(bearer(account.access))
    .send({ code: codeAt(started.body.secret, at - 1) })
    .expect(200);
  return { ...account, secret: started.body.secret, recoveryCodes: confirmed.body.recoveryCodes };
}

async function firstStep(t: TestApp, account: Account): Promise<string> {
  const res = await t.http.post('/auth/login').send({ email: account.email, password: account.password }).expect(200);
  expect(res.body).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300 });
  return res.body.mfa_token;
}

describe('TOTP two-factor authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('enrols with the password, keeps login unchanged until confirmed, then gives 10 recovery codes once', async () => {
    const at = await stepWithRoom();
    const account = await signUp(t);
    const wrong = await t.http
      .post('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: 'not the password' })
      .expect(403);
    expect(wrong.headers['content-type']).toMatch(/^application\/problem\+json/);

    const started = await t.http
      .post('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: account.password })
      .expect(200);
    expect(started.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(started.body.otpauthUrl);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe(`/UltrAI:${account.email}`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      secret: started.body.secret,
      issuer: 'UltrAI',
      digits: '6',
      period: '30',
    });

    // Pending: the password alone still logs in.
    const pending = await t.http.post('/auth/login').send({ email: account.email, password: account.password });
    expect(pending.body.access_token).toEqual(expect.any(String));

    const refused = await t.http
      .post('/users/me/mfa/totp/confirm')
      .set(bearer(account.access))
      .send({ code: wrongCode(started.body.secret, at) })
      .expect(400);
    expect(refused.body).toMatchObject({
      type: 'urn:ultrai:problem:invalid-mfa-code',
      detail: 'The code is not correct.',
    });

    const confirmed = await t.http
      .post('/users/me/mfa/totp/confirm')
      .set(bearer(account.access))
      .send({ code: codeAt(started.body.secret, at) })
      .expect(200);
    const codes: string[] = confirmed.body.recoveryCodes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}$/);

    // Once: neither confirming again nor a new enrolment while it is on.
    await t.http
      .post('/users/me/mfa/totp/confirm')
      .set(bearer(account.access))
      .send({ code: codeAt(started.body.secret, at + 1) })
      .expect(409);
    await t.http
      .post('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: account.password })
      .expect(409);
  });

  it('asks for a code after the password, gives no token before it, and makes the usual session with it', async () => {
    const at = await stepWithRoom();
    const account = await enrol(t, at);
    const res = await t.http.post('/auth/login').send({ email: account.email, password: account.password }).expect(200);
    expect(res.body).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300 });
    // The mfa_token opens nothing.
    await t.http.get('/users/me').set(bearer(res.body.mfa_token)).expect(401);

    const done = await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: res.body.mfa_token, code: codeAt(account.secret, at) })
      .expect(200);
    expect(done.body).toMatchObject({ token_type: 'bearer', expires_in: 900, user: { id: account.id } });
    const me = await t.http.get('/users/me').set(bearer(done.body.access_token)).expect(200);
    expect(me.body.email).toBe(account.email);
    const sessions = await t.http.get('/auth/sessions').set(bearer(done.body.access_token)).expect(200);
    expect(sessions.body.items.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    // The usual refresh token, too.
    await t.http.post('/auth/refresh').send({ refresh_token: done.body.refresh_token }).expect(200);
  });

  it('refuses a code used once already, even with a new login, and takes the next one', async () => {
    const at = await stepWithRoom();
    const account = await enrol(t, at);
    const code = codeAt(account.secret, at);
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), code })
      .expect(200);
    const replay = await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), code })
      .expect(401);
    expect(replay.body.detail).toBe('This code was already used; wait for the next one.');
    // An older step is no better than the same one.
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), code: codeAt(account.secret, at - 1) })
      .expect(401);
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), code: codeAt(account.secret, at + 1) })
      .expect(200);
  });

  it('takes each recovery code once, in any case and without dashes', async () => {
    const at = await stepWithRoom();
    const account = await enrol(t, at);
    const [first, second] = account.recoveryCodes;
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), recovery_code: first })
      .expect(200);
    const again = await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), recovery_code: first })
      .expect(401);
    expect(again.body.detail).toBe('The code is not correct.');
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), recovery_code: second.replaceAll('-', '').toUpperCase() })
      .expect(200);
    const audit = await t.http.get('/users/me/audit').set(bearer(account.access)).expect(200);
    expect(
      audit.body.items
        .filter((e: { type: string }) => e.type === 'mfa.recovery-code-used')
        .map((e: { details: unknown }) => e.details),
    ).toEqual([{ remaining: 8 }, { remaining: 9 }]);
  });

  it('refuses a forged, expired or missing mfa_token, and a body with both or neither code', async () => {
    const at = await stepWithRoom();
    const account = await enrol(t, at);
    const token = await firstStep(t, account);
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: `${token}x`, code: codeAt(account.secret, at) })
      .expect(401);
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: account.access, code: codeAt(account.secret, at) })
      .expect(401);
    const both = await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: token, code: codeAt(account.secret, at), recovery_code: account.recoveryCodes[0] })
      .expect(400);
    expect(both.headers['content-type']).toMatch(/^application\/problem\+json/);
    await t.http.post('/auth/login/mfa').send({ mfa_token: token }).expect(400);
    await t.http.post('/auth/login/mfa').send({ mfa_token: token, code: '12345' }).expect(400);
    // None of these spent the code.
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: token, code: codeAt(account.secret, at) })
      .expect(200);
  });

  it('limits wrong codes per account: after 5, even the right code gets 429 with Retry-After; others are not slowed', async () => {
    const at = await stepWithRoom();
    const account = await enrol(t, at);
    const other = await enrol(t, at);
    const token = await firstStep(t, account);
    const wrong = wrongCode(account.secret, at);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await t.http.post('/auth/login/mfa').send({ mfa_token: token, code: wrong })).status);
    }
    statuses.push((await t.http.post('/auth/login/mfa').send({ mfa_token: token, recovery_code: 'aaaa-bbbb' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const limited = await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, account), code: codeAt(account.secret, at) })
      .expect(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // A recovery code does not get round it either.
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: token, recovery_code: account.recoveryCodes[0] })
      .expect(429);
    await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: await firstStep(t, other), code: codeAt(other.secret, at) })
      .expect(200);
  });

  it('turns off with the password and a current code, after which the password alone logs in', async () => {
    const at = await stepWithRoom();
    const account = await enrol(t, at);
    await t.http
      .delete('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: 'not the password', code: codeAt(account.secret, at) })
      .expect(403);
    await t.http
      .delete('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: account.password, code: wrongCode(account.secret, at) })
      .expect(400);
    await t.http
      .delete('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: account.password })
      .expect(400);
    await firstStep(t, account);
    await t.http
      .delete('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: account.password, code: codeAt(account.secret, at) })
      .expect(204);
    const login = await t.http
      .post('/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(200);
    expect(login.body.access_token).toEqual(expect.any(String));
    expect(login.body.mfa_required).toBeUndefined();
    await t.http
      .delete('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: account.password, code: codeAt(account.secret, at + 1) })
      .expect(409);
  });

  it('lets an administrator reset a user’s second factor, audited, and nobody else', async () => {
    const at = await stepWithRoom();
    const account = await enrol(t, at);
    const admin = await signUp(t);
    await makeAdmin(t, admin.id);
    await t.http.delete(`/users/${account.id}/mfa`).set(bearer(account.access)).expect(403);
    await t.http.delete('/users/00000000-0000-4000-8000-000000000000/mfa').set(bearer(admin.access)).expect(404);
    await firstStep(t, account);
    await t.http.delete(`/users/${account.id}/mfa`).set(bearer(admin.access)).expect(204);
    const login = await t.http
      .post('/auth/login')
      .send({ email: account.email, password: account.password })
      .expect(200);
    expect(login.body.access_token).toEqual(expect.any(String));
    const audit = await t.http
      .get(`/admin/audit?userId=${account.id}&type=mfa.reset`)
      .set(bearer(admin.access))
      .expect(200);
    expect(audit.body.items).toEqual([
      expect.objectContaining({ type: 'mfa.reset', actorId: admin.id, userId: account.id }),
    ]);
  });
});

if (REAL_REDIS_URL) {
  describe('two instances sharing PostgreSQL and Redis (real Redis only: memory cannot be shared)', () => {
    const apps = twoInstances();

    it('counts wrong codes of one account together: split across A and B, the 6th attempt gets 429', async () => {
      const { a, b } = apps;
      const at = await stepWithRoom();
      const account = await enrol(a, at);
      const token = await firstStep(a, account);
      const wrong = wrongCode(account.secret, at);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const app = i % 2 === 0 ? a : b;
        statuses.push((await app.http.post('/auth/login/mfa').send({ mfa_token: token, code: wrong })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    });
  });
} else {
  process.stdout.write('mfa: the two-instance test is not registered: no REDIS_URL (memory cannot be shared)\n');
}
