import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { bearer, craftJwt } from './support/auth.js';
import { TEST_JWT_SECRET } from './support/env.js';
import { createTestDatabase } from './support/database.js';

describe('health routes, database up', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('GET / says alive', async () => {
    const res = await t.http.get('/').expect(200);
    expect(res.body).toMatchObject({ status: 'alive', service: 'ultrai-core' });
  });

  it('GET /health is liveness in the legacy shape', async () => {
    const res = await t.http.get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', services: expect.arrayContaining(['api', 'database']) });
  });

  it('GET /health answers every time with the same headers the full pipeline gave the first one', async () => {
    // The first plain GET /health goes through the application; later ones are answered by the
    // liveness fast path, which must look the same to a client (see src/health/liveness.ts).
    const fastAnswers = async () =>
      Number(/^liveness_fast_path_answers_total (\d+)$/m.exec((await t.http.get('/metrics').expect(200)).text)?.[1]);
    const before = await fastAnswers();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await t.http.get('/health').set('x-request-id', `probe-${i}`).expect(200));
    const stable = (headers: Record<string, string>) => {
      // The body holds the uptime, whose digits (and so the length) change with time.
      const { date: _date, 'x-request-id': _id, 'content-length': _length, ...rest } = headers;
      return rest;
    };
    for (const [i, res] of answers.entries()) {
      expect(res.headers['x-request-id']).toBe(`probe-${i}`);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(stable(res.headers)).toEqual(stable(answers[0].headers));
      expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
      expect(Object.keys(res.body).sort()).toEqual(['services', 'status', 'uptime', 'version']);
      expect(res.body.status).toBe('ok');
    }
    // At most the first took the pipeline, for the fast path to copy its headers.
    expect((await fastAnswers()) - before).toBeGreaterThanOrEqual(3);
    // A client's unusable request id is replaced, as on every route.
    const replaced = await t.http.get('/health').set('x-request-id', 'no spaces allowed').expect(200);
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('counts every GET /health in /metrics, fast or not', async () => {
    const count = async () => {
      const text = (await t.http.get('/metrics').expect(200)).text;
      const line = text
        .split('\n')
        .find((l) => l.startsWith('http_requests_total{method="GET",route="/health",status="200"}'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const fast = async () =>
      Number(/^liveness_fast_path_answers_total (\d+)$/m.exec((await t.http.get('/metrics').expect(200)).text)?.[1]);
    const [before, fastBefore] = [await count(), await fast()];
    for (let i = 0; i < 5; i++) await t.http.get('/health').expect(200);
    expect((await count()) - before).toBe(5);
    expect((await fast()) - fastBefore).toBeGreaterThanOrEqual(4);
  });

  it('GET /health/database says connected', async () => {
    const res = await t.http.get('/health/database').expect(200);
    expect(res.body).toEqual({ status: 'ok', database: 'connected' });
  });

  it('GET /health/ready reports the database up', async () => {
    const res = await t.http.get('/health/ready').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', details: { database: { status: 'up' } } });
  });

  it('needs no token and is documented as public', async () => {
    const doc = (await t.http.get('/docs/openapi.json').expect(200)).body;
    for (const path of ['/', '/health', '/health/database', '/health/ready']) {
      expect(doc.paths[path].get.security).toBeUndefined();
    }
  });
});

describe('health routes, database unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    const db = await createTestDatabase();
    // Port 9 (discard) is closed here: connecting fails at once.
    t = await startTestApp({
      db,
      env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none', HEALTH_TIMEOUT_MS: '300' },
    });
  });
  afterAll(async () => {
    await t.close();
    await t.db.drop();
  });

  it('still answers liveness: the app starts without its database', async () => {
    await t.http.get('/').expect(200);
    const res = await t.http.get('/health').expect(200);
    expect(res.body.status).toBe('ok');
  });

  it('GET /health/database is 503 in the legacy shape', async () => {
    const res = await t.http.get('/health/database').expect(503);
    expect(res.body).toEqual({ status: 'error', database: 'connection_failed' });
  });

  it('answers other routes with 503 problem+json, not 401 or 500', async () => {
    const login = await t.http.post('/auth/login').send({ email: 'a@example.com', password: 'whatever-123' });
    expect(login.status).toBe(503);
    expect(login.headers['content-type']).toMatch(/problem\+json/);
    expect(login.headers['retry-after']).toBe('5');
    const token = craftJwt(
      { alg: 'HS256', typ: 'JWT' },
      {
        sub: randomUUID(),
        sid: randomUUID(),
        typ: 'access',
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 60,
      },
      TEST_JWT_SECRET,
    );
    const me = await t.http.get('/users/me').set(bearer(token));
    expect(me.status).toBe(503);
    expect(me.body.type).toBe('urn:ultrai:problem:database-unavailable');
  });

  it('GET /health/ready is 503 with the database down', async () => {
    const res = await t.http.get('/health/ready').expect(503);
    expect(res.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
  });
});
