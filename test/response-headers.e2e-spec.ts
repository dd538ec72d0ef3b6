import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';

const ORIGIN = 'https://app.example.com';

function expectSecurityHeaders(headers: Record<string, string>) {
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('SAMEORIGIN');
  expect(headers['content-security-policy']).toMatch(/default-src 'self'/);
  expect(headers['strict-transport-security']).toMatch(/max-age=/);
}

describe('response headers', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    t = await startTestApp({ env: { CORS_ORIGINS: ORIGIN } });
    alice = await signUp(t);
  });
  afterAll(() => t.close());

  describe('Cache-Control: no-store', () => {
    it('on authenticated JSON answers, cache hits included', async () => {
      const miss = await t.http.get('/users/me').set(bearer(alice.access)).expect(200);
      const hit = await t.http.get('/users/me').set(bearer(alice.access)).expect(200);
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(miss.headers['cache-control']).toBe('no-store');
      expect(hit.headers['cache-control']).toBe('no-store');
      const list = await t.http.get('/documents').set(bearer(alice.access)).expect(200);
      expect(list.headers['cache-control']).toBe('no-store');
      const sessions = await t.http.get('/auth/sessions').set(bearer(alice.access)).expect(200);
      expect(sessions.headers['cache-control']).toBe('no-store');
    });

    it('on answers that carry tokens, and on errors', async () => {
      const login = await t.http.post('/auth/login').send({ email: alice.email, password: alice.password }).expect(200);
      expect(login.headers['cache-control']).toBe('no-store');
      const refused = await t.http.get('/users/me').set(bearer('garbage')).expect(401);
      expect(refused.headers['cache-control']).toBe('no-store');
    });
  });

  describe("security headers on Fastify's own answers", () => {
    it('on an overlong path parameter (414) and an undecodable URL (400)', async () => {
      const long = await t.http.get(`/documents/${'a'.repeat(5000)}`);
      expect(long.status).toBe(414);
      expectSecurityHeaders(long.headers);
      expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const bad = await t.http.get('/documents/%zz');
      expect(bad.status).toBe(400);
      expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
      expectSecurityHeaders(bad.headers);
    });

    it('on an unknown route, a body the parser refuses and a body over the limit', async () => {
      expectSecurityHeaders((await t.http.get('/no/such/route').expect(404)).headers);
      const malformed = await t.http.post('/auth/login').type('json').send('{"a":');
      expect(malformed.status).toBe(400);
      expectSecurityHeaders(malformed.headers);
      const large = await t.http.post('/auth/login').send({ email: 'a@b.c', password: 'x'.repeat(20 * 1024) });
      expect(large.status).toBe(413);
      expectSecurityHeaders(large.headers);
    });
  });

  describe('CORS', () => {
    it.each(['PUT', 'PATCH', 'DELETE'])('a preflight for %s is allowed', async (method) => {
      const res = await t.http
        .options('/users/me')
        .set('origin', ORIGIN)
        .set('access-control-request-method', method)
        .set('access-control-request-headers', 'authorization, content-type, if-match');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(res.headers['access-control-allow-methods']?.split(/,\s*/)).toContain(method);
    });

    it('answers a cross-origin DELETE with the CORS header', async () => {
      const doc = await t.http
        .post('/documents')
        .set(bearer(alice.access))
        .send({ title: 't', content: 'c' })
        .expect(201);
      const res = await t.http.delete(`/documents/${doc.body.id}`).set(bearer(alice.access)).set('origin', ORIGIN);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    });
  });
});
