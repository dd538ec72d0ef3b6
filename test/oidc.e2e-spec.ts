import { randomUUID } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { bearer, logIn, signUp } from './support/auth.js';
import { API_HOST, signInAtProvider, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TestProvider } from './support/oidc.js';
import { createTestDatabase } from './support/database.js';
import { freePort, type Spawned, startMain } from './support/process.js';

const APP_REDIRECT = 'https://app.example.com/signed-in';

const oidcEnv = (issuer: string) => ({
  OIDC_ISSUER_URL: issuer,
  OIDC_CLIENT_ID: TEST_CLIENT_ID,
  OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET,
  OIDC_NAME: 'Test OP',
  OIDC_ALLOWED_REDIRECTS: `${APP_REDIRECT},https://other.example.com/cb`,
});

/** GET /auth/oidc/authorize as the browser would: the provider URL it is sent to. */
async function authorize(t: TestApp): Promise<string> {
  const res = await t.http
    .get('/auth/oidc/authorize')
    .query({ redirect_uri: APP_REDIRECT })
    .set('host', API_HOST)
    .expect(302);
  return res.headers.location as string;
}

/** The provider's redirect to our callback, followed by the browser. */
function callback(t: TestApp, url: URL) {
  expect(url.origin).toBe(`http://${API_HOST}`);
  return t.http.get(`${url.pathname}${url.search}`).set('host', API_HOST);
}

/** The code the client app finds in its redirect. */
function codeFrom(location: string): string {
  const url = new URL(location);
  expect(`${url.origin}${url.pathname}`).toBe(APP_REDIRECT);
  return url.searchParams.get('code') as string;
}

/** The whole browser dance, up to the client app holding its one-time code. */
async function signIn(t: TestApp, login: string): Promise<string> {
  const back = await signInAtProvider(await authorize(t), login);
  const res = await callback(t, back).expect(302);
  return codeFrom(res.headers.location as string);
}

/** Signed in, and the code traded: the token pair the client app ends with. */
async function tokensFor(t: TestApp, login: string) {
  return (
    await t.http
      .post('/auth/oidc/token')
      .send({ code: await signIn(t, login) })
      .expect(200)
  ).body;
}

describe('OpenID Connect sign-in', () => {
  let op: TestProvider;
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    op = await TestProvider.start();
    t = await startTestApp({ env: oidcEnv(op.issuer) });
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
    await op?.stop();
  });

  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

  it('signs a new person in: an account, a session listed and revocable, a refresh that works', async () => {
    const email = `${unique('grace')}@example.com`;
    const login = op.account(unique('grace'), { email, email_verified: true, preferred_username: 'grace.h' });
    const code = await signIn(t, login);
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const tokens = (await t.http.post('/auth/oidc/token').send({ code }).expect(200)).body;
    expect(tokens).toMatchObject({ token_type: 'bearer', user: { email, username: 'grace.h', role: 'user' } });
    const me = (await t.http.get('/users/me').set(bearer(tokens.access_token)).expect(200)).body;
    expect(me).toMatchObject({ email, emailVerified: true });

    const sessions = (await t.http.get('/auth/sessions').set(bearer(tokens.access_token)).expect(200)).body;
    expect(sessions.items).toHaveLength(1);
    expect(sessions.items[0].current).toBe(true);

    const refreshed = await t.http.post('/auth/refresh').send({ refresh_token: tokens.refresh_token }).expect(200);
    await t.http.get('/users/me').set(bearer(refreshed.body.access_token)).expect(200);

    const identities = (await t.http.get('/users/me/identities').set(bearer(tokens.access_token)).expect(200)).body;
    expect(identities.items).toEqual([expect.objectContaining({ provider: 'Test OP', issuer: op.issuer, email })]);

    const audit = (await t.http.get('/users/me/audit').set(bearer(refreshed.body.access_token)).expect(200)).body;
    const types = audit.items.map((e: { type: string; details: Record<string, unknown> }) => [
      e.type,
      e.details.method,
    ]);
    expect(types).toEqual(
      expect.arrayContaining([
        ['user.registered', 'oidc'],
        ['oidc.identity-linked', undefined],
        ['login.succeeded', 'oidc'],
      ]),
    );

    // Revoked like any session: its access token stops working at once.
    await t.http.delete(`/auth/sessions/${sessions.items[0].id}`).set(bearer(refreshed.body.access_token)).expect(204);
    await t.http.get('/users/me').set(bearer(refreshed.body.access_token)).expect(401);
  });

  it('signs the same person into the same account next time, with a second session', async () => {
    const email = `${unique('ada')}@example.com`;
    const login = op.account(unique('ada'), { email, email_verified: true });
    const first = await tokensFor(t, login);
    const second = await tokensFor(t, login);
    expect(second.user.id).toBe(first.user.id);
    const sessions = (await t.http.get('/auth/sessions').set(bearer(second.access_token)).expect(200)).body;
    expect(sessions.items).toHaveLength(2);
  });

  it('derives a unique username when the natural one is taken', async () => {
    const taken = unique('linus');
    await signUp(t, { username: taken });
    const login = op.account(unique('l'), {
      email: `${unique('x')}@example.com`,
      email_verified: true,
      preferred_username: taken,
    });
    const tokens = await tokensFor(t, login);
    expect(tokens.user.username).toMatch(new RegExp(`^${taken}-[0-9a-f]{6}$`));
  });

  it('links an existing account when the provider says the email is verified; unlinking keeps the password', async () => {
    const account = await signUp(t);
    const login = op.account(unique('link'), { email: account.email.toUpperCase(), email_verified: true });
    const tokens = await tokensFor(t, login);
    expect(tokens.user.id).toBe(account.id);

    const identities = (await t.http.get('/users/me/identities').set(bearer(account.access)).expect(200)).body;
    expect(identities.items).toHaveLength(1);
    await t.http.delete(`/users/me/identities/${identities.items[0].id}`).set(bearer(account.access)).expect(204);
    expect((await t.http.get('/users/me/identities').set(bearer(account.access)).expect(200)).body.items).toEqual([]);
    await logIn(t, account.email, account.password);
    const audit = (await t.http.get('/users/me/audit').set(bearer(account.access)).expect(200)).body;
    expect(audit.items.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['oidc.identity-linked', 'oidc.identity-unlinked']),
    );
  });

  it('refuses to link an account when the provider does not say the email is verified (409)', async () => {
    const account = await signUp(t);
    const login = op.account(unique('unverified'), { email: account.email, email_verified: false });
    const res = await callback(t, await signInAtProvider(await authorize(t), login)).expect(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers.location).toBeUndefined();
    expect(res.body).toMatchObject({ type: 'urn:ultrai:problem:oidc-email-unverified' });
    expect(res.body.detail).toMatch(/not say this email address is verified/);
    expect((await t.http.get('/users/me/identities').set(bearer(account.access)).expect(200)).body.items).toEqual([]);
  });

  it('keeps the last way to sign in: an account without a password cannot unlink its only identity', async () => {
    const login = op.account(unique('only'), { email: `${unique('only')}@example.com`, email_verified: true });
    const tokens = await tokensFor(t, login);
    const [identity] = (await t.http.get('/users/me/identities').set(bearer(tokens.access_token)).expect(200)).body
      .items;
    const res = await t.http.delete(`/users/me/identities/${identity.id}`).set(bearer(tokens.access_token)).expect(409);
    expect(res.body).toMatchObject({ type: 'urn:ultrai:problem:last-sign-in-method' });
    expect(
      (await t.http.get('/users/me/identities').set(bearer(tokens.access_token)).expect(200)).body.items,
    ).toHaveLength(1);

    // Someone else's identity is not found, and a password login to this account does not work.
    const other = await signUp(t);
    await t.http.delete(`/users/me/identities/${identity.id}`).set(bearer(other.access)).expect(404);
    await t.http.post('/auth/login').send({ email: tokens.user.email, password: 'any password at all' }).expect(401);
  });

  it('asks an account with two-factor on for its second factor, unless the provider reported one (amr)', async () => {
    const account = await signUp(t);
    const started = await t.http
      .post('/users/me/mfa/totp')
      .set(bearer(account.access))
      .send({ password: account.password })
      .expect(200);
    const code = TOTP.generate({
      secret: Secret.fromBase32(started.body.secret),
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    const confirmed = await t.http
      .post('/users/me/mfa/totp/confirm')
      .set(bearer(account.access))
      .send({ code })
      .expect(200);

    const passwordOnly = op.account(unique('pwd'), { email: account.email, email_verified: true, amr: ['pwd'] });
    const step = await t.http
      .post('/auth/oidc/token')
      .send({ code: await signIn(t, passwordOnly) })
      .expect(200);
    expect(step.body).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300 });
    const finished = await t.http
      .post('/auth/login/mfa')
      .send({ mfa_token: step.body.mfa_token, recovery_code: confirmed.body.recoveryCodes[0] })
      .expect(200);
    expect(finished.body.user.id).toBe(account.id);

    const withOtp = op.account(unique('otp'), { email: account.email, email_verified: true, amr: ['pwd', 'otp'] });
    const direct = await tokensFor(t, withOtp);
    expect(direct).toMatchObject({ token_type: 'bearer', user: { id: account.id } });
  });

  it('sends the browser back only to an allowed redirect_uri: no open redirect', async () => {
    for (const target of [
      'https://evil.example.com/signed-in',
      'https://app.example.com/signed-in.evil.example.com',
      'https://app.example.com/signed-in/../../evil',
      'https://app.example.com/signed-in?next=https://evil.example.com',
      '//evil.example.com',
      'javascript:alert(1)',
    ]) {
      const res = await t.http.get('/auth/oidc/authorize').query({ redirect_uri: target }).set('host', API_HOST);
      expect({ target, status: res.status, location: res.headers.location }).toEqual({
        target,
        status: 400,
        location: undefined,
      });
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'redirect_uri' })]);
    }
    await t.http.get('/auth/oidc/authorize').set('host', API_HOST).expect(400);
  });

  it('refuses a callback whose state was tampered with, and a callback replayed', async () => {
    const login = op.account(unique('state'), { email: `${unique('s')}@example.com`, email_verified: true });
    const back = await signInAtProvider(await authorize(t), login);
    const forged = new URL(back);
    forged.searchParams.set('state', `${back.searchParams.get('state')}x`);
    const refused = await callback(t, forged).expect(400);
    expect(refused.body).toMatchObject({ type: 'urn:ultrai:problem:oidc-state-invalid' });
    await callback(t, new URL(`${back.origin}${back.pathname}?code=abc`)).expect(400);

    await callback(t, back).expect(302);
    const replayed = await callback(t, back).expect(400);
    expect(replayed.body).toMatchObject({ type: 'urn:ultrai:problem:oidc-state-invalid' });
  });

  it('refuses an ID token whose nonce is not the one sent (401), and creates nothing', async () => {
    const email = `${unique('nonce')}@example.com`;
    const login = op.account(unique('nonce'), { email, email_verified: true });
    const providerUrl = new URL(await authorize(t));
    providerUrl.searchParams.set('nonce', 'a-nonce-the-attacker-chose');
    const res = await callback(t, await signInAtProvider(providerUrl.href, login)).expect(401);
    expect(res.body).toMatchObject({ type: 'urn:ultrai:problem:oidc-login-failed' });
    expect(await db.query('SELECT 1 FROM users WHERE email = $1', [email])).toEqual([]);
  });

  it('refuses a PKCE verifier that does not match: a code intercepted for another authorization', async () => {
    const login = op.account(unique('pkce'), { email: `${unique('p')}@example.com`, email_verified: true });
    const providerUrl = new URL(await authorize(t));
    // Another authorization's challenge: the verifier kept for this state does not match it.
    const other = new URL(await authorize(t));
    providerUrl.searchParams.set('code_challenge', other.searchParams.get('code_challenge') as string);
    const res = await callback(t, await signInAtProvider(providerUrl.href, login)).expect(401);
    expect(res.body).toMatchObject({ type: 'urn:ultrai:problem:oidc-login-failed' });
  });

  it('sends the browser back to the client with the error when the person cancels at the provider', async () => {
    const login = op.account(unique('cancel'), { email: `${unique('c')}@example.com`, email_verified: true });
    const back = await signInAtProvider(await authorize(t), login, { cancel: true });
    expect(back.searchParams.get('error')).toBe('access_denied');
    const res = await callback(t, back).expect(302);
    const target = new URL(res.headers.location as string);
    expect(`${target.origin}${target.pathname}`).toBe(APP_REDIRECT);
    expect(target.searchParams.get('error')).toBe('access_denied');
    expect(target.searchParams.get('code')).toBeNull();
  });

  it('takes a code once, and only for 60 seconds', async () => {
    const login = op.account(unique('code'), { email: `${unique('c')}@example.com`, email_verified: true });
    const code = await signIn(t, login);
    await t.http.post('/auth/oidc/token').send({ code }).expect(200);
    const reused = await t.http.post('/auth/oidc/token').send({ code }).expect(401);
    expect(reused.body).toMatchObject({ type: 'urn:ultrai:problem:oidc-code-invalid' });

    const late = await signIn(t, login);
    // 61 seconds pass (moved in the database instead of waited for).
    await db.query(`UPDATE oidc_login_codes SET expires_at = expires_at - interval '61 seconds'`);
    const expired = await t.http.post('/auth/oidc/token').send({ code: late }).expect(401);
    expect(expired.body).toMatchObject({ type: 'urn:ultrai:problem:oidc-code-invalid' });

    await t.http.post('/auth/oidc/token').send({ code: 'not-a-code' }).expect(401);
    await t.http.post('/auth/oidc/token').send({}).expect(400);
  });

  it('answers 503 problem+json, not 500, when the provider goes down before the callback', async () => {
    const down = await TestProvider.start();
    const app = await startTestApp({ env: oidcEnv(down.issuer), db: t.db });
    try {
      const login = down.account(unique('down'), { email: `${unique('d')}@example.com`, email_verified: true });
      const url = (
        await app.http
          .get('/auth/oidc/authorize')
          .query({ redirect_uri: APP_REDIRECT })
          .set('host', API_HOST)
          .expect(302)
      ).headers.location as string;
      const back = await signInAtProvider(url, login);
      await down.stop();
      const res = await app.http.get(`${back.pathname}${back.search}`).set('host', API_HOST).expect(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.detail).toMatch(/provider cannot be reached/);
    } finally {
      await app.app.close();
      await down.stop();
    }
  });
});

describe('OpenID Connect in the bundled server (dist/main.js)', () => {
  it('signs a person in end to end over HTTP', async () => {
    const port = await freePort();
    const op = await TestProvider.start([`http://127.0.0.1:${port}/auth/oidc/callback`]);
    const db = await createTestDatabase();
    const running: Spawned[] = [];
    try {
      const { base } = await startMain({ ...db.env, ...oidcEnv(op.issuer), PORT: String(port) }, running);
      const start = await fetch(`${base}/auth/oidc/authorize?redirect_uri=${encodeURIComponent(APP_REDIRECT)}`, {
        redirect: 'manual',
      });
      expect(start.status).toBe(302);
      const login = op.account('bundled', { email: 'bundled@example.com', email_verified: true });
      const back = await signInAtProvider(start.headers.get('location') as string, login);
      const done = await fetch(back, { redirect: 'manual' });
      expect(done.status).toBe(302);
      const code = codeFrom(done.headers.get('location') as string);
      const tokens = await fetch(`${base}/auth/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
      });
      expect(tokens.status).toBe(200);
      const { access_token: access } = (await tokens.json()) as { access_token: string };
      const sessions = await fetch(`${base}/auth/sessions`, { headers: { authorization: `Bearer ${access}` } });
      expect(((await sessions.json()) as { items: unknown[] }).items).toHaveLength(1);
    } finally {
      for (const server of running) {
        server.child.kill('SIGTERM');
        await server.exit;
      }
      await db.drop();
      await op.stop();
    }
  });
});

describe('OpenID Connect with its provider unreachable', () => {
  it('answers 503 problem+json at the start of a sign-in', async () => {
    const t = await startTestApp({ env: oidcEnv(`http://127.0.0.1:${await freePort()}`) });
    try {
      const res = await t.http.get('/auth/oidc/authorize').query({ redirect_uri: APP_REDIRECT }).expect(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.body).toMatchObject({ status: 503, detail: expect.stringMatching(/provider cannot be reached/) });
    } finally {
      await t.close();
    }
  });
});

describe('OpenID Connect off (no OIDC_ISSUER_URL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_RATE_LIMIT_MAX: '3' } });
  });
  afterAll(() => t.close());

  it('answers 404 on its routes, and the OpenAPI document says it is off', async () => {
    await t.http.get('/auth/oidc/authorize').query({ redirect_uri: APP_REDIRECT }).expect(404);
    await t.http.get('/auth/oidc/callback?state=abc&code=def').expect(404);
    const res = await t.http
      .post('/auth/oidc/token')
      .send({ code: 'k'.repeat(43) })
      .expect(404);
    expect(res.body.detail).toMatch(/not configured/);
    const doc = (await t.http.get('/docs/openapi.json').expect(200)).body;
    expect(doc.info.description).toMatch(/OpenID Connect sign-in is off/);
    expect(doc.tags.find((tag: { name: string }) => tag.name === 'OpenID Connect').description).toMatch(/^Off/);
    expect(doc.paths['/auth/oidc/authorize'].get.description).toMatch(/off on this server/);
  });

  it('rate limits its public routes per IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.http.post('/auth/oidc/token').send({ code: 'x' })).status);
    expect(statuses.slice(-1)).toEqual([429]);
  });
});
