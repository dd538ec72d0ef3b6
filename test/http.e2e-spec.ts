import { startTestApp, type TestApp } from './support/app.js';
import { ProbeModule } from './support/probe.module.js';

const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'instance', 'requestId'];

function expectProblem(
  res: { status: number; headers: Record<string, string>; body: Record<string, unknown> },
  status: number,
) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(Object.keys(res.body)).toEqual(expect.arrayContaining(PROBLEM_KEYS));
  expect(res.body.status).toBe(status);
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
  expect(JSON.stringify(res.body)).not.toMatch(/\bat \S+ \(|node_modules|Error:|stack/);
}

/** GET /health answers the liveness fast path gave (before Fastify), from /metrics. */
async function fastLivenessAnswers(t: TestApp): Promise<number> {
  const text = (await t.http.get('/metrics').expect(200)).text;
  return Number(/^liveness_fast_path_answers_total (\d+)$/m.exec(text)?.[1]);
}

describe('errors, requests and logs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      extraModules: [ProbeModule],
      env: { CORS_ORIGINS: 'https://app.example.com' },
      logs: { level: 'info', json: true },
    });
  });
  afterAll(() => t.close());

  describe('problem+json', () => {
    it('400 lists every invalid field', async () => {
      const res = await t.http
        .post('/__probe/echo')
        .send({ name: '', count: -1, items: [{ label: 'ok' }, { label: 42 }], extra: true });
      expectProblem(res, 400);
      expect(res.body.type).toBe('urn:ultrai:problem:validation-failed');
      const fields = (res.body.errors as Array<{ field: string }>).map((e) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['name', 'count', 'items[1].label', 'extra']));
      for (const error of res.body.errors) expect(typeof error.message).toBe('string');
    });

    it('400 for malformed JSON', async () => {
      const res = await t.http.post('/__probe/echo').set('content-type', 'application/json').send('{"name": "a",');
      expectProblem(res, 400);
    });

    it('accepts a valid body (the probe echoes it)', async () => {
      const body = { name: 'abc', count: 2, items: [{ label: 'x' }] };
      const res = await t.http.post('/__probe/echo').send(body).expect(201);
      expect(res.body).toEqual(body);
    });

    it('404 for an unknown route', async () => {
      const res = await t.http.get('/no/such/route?token=secret');
      expectProblem(res, 404);
      expect(res.body.instance).toBe('/no/such/route');
    });

    it('413 for a JSON body over 1 MiB', async () => {
      const res = await t.http
        .post('/__probe/echo')
        .set('content-type', 'application/json')
        .send(JSON.stringify({ name: 'x'.repeat(1024 * 1024) }));
      expectProblem(res, 413);
    });

    it('415 for a body type the route does not take', async () => {
      const res = await t.http.post('/__probe/echo').set('content-type', 'application/xml').send('<a/>');
      expectProblem(res, 415);
    });

    it('500 hides the internals of an unknown error and logs them with the request id', async () => {
      const res = await t.http.get('/__probe/boom').set('x-request-id', 'boom-1');
      expectProblem(res, 500);
      expect(JSON.stringify(res.body)).not.toMatch(/secret_table|TypeError|PostgresQueryRunner/);
      expect(res.body.detail).toMatch(/request id/);
      const logged = t.logs.map((l) => JSON.parse(l)).find((l) => l.level === 'error' && l.requestId === 'boom-1');
      expect(logged).toMatchObject({ msg: expect.stringContaining('secret_table'), stack: expect.any(String) });
    });

    it('logs the failed request with its headers, credentials redacted', async () => {
      await t.http
        .get('/__probe/boom')
        .set('x-request-id', 'boom-2')
        .set('authorization', 'Bearer secret-bearer-1')
        .set('cookie', 'session=secret-cookie-1')
        .set('x-link-password', 'secret-link-password-1')
        .set('user-agent', 'redaction-check')
        .expect(500);
      const line = t.logs.find((l) => l.includes('"boom-2"') && l.includes('"error"'));
      expect(line).toBeDefined();
      expect(line).not.toMatch(/secret-bearer-1|secret-cookie-1|secret-link-password-1/);
      expect(JSON.parse(line!).req).toMatchObject({
        method: 'GET',
        path: '/__probe/boom',
        headers: {
          authorization: '[Redacted]',
          cookie: '[Redacted]',
          'x-link-password': '[Redacted]',
          'user-agent': 'redaction-check',
        },
      });
    });
  });

  describe('hostile input', () => {
    it('refuses JSON nested deeper than 32 levels with 400, not a stack overflow', async () => {
      const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      const res = await t.http.post('/__probe/echo').set('content-type', 'application/json').send(deep);
      expectProblem(res, 400);
      const array = await t.http
        .post('/__probe/echo')
        .set('content-type', 'application/json')
        .send(`${'['.repeat(5000)}${']'.repeat(5000)}`);
      expectProblem(array, 400);
    });

    it('refuses NUL characters and lone surrogates in JSON strings and query values, naming the field', async () => {
      const nul = await t.http
        .post('/__probe/echo')
        .set('content-type', 'application/json')
        .send('{"name":"a\\u0000b","count":1,"items":[]}');
      expectProblem(nul, 400);
      expect(nul.body.errors).toEqual([{ field: 'name', message: expect.stringMatching(/NUL/) }]);
      const surrogate = await t.http
        .post('/__probe/echo')
        .set('content-type', 'application/json')
        .send('{"name":"x","count":1,"items":[{"label":"\\ud800x"}]}');
      expectProblem(surrogate, 400);
      expect(surrogate.body.errors[0].field).toBe('items[0].label');
      expectProblem(await t.http.get('/health?q=%00'), 400);
    });

    it('refuses prototype-polluting keys', async () => {
      const res = await t.http
        .post('/__probe/echo')
        .set('content-type', 'application/json')
        .send('{"name":"x","count":1,"items":[],"__proto__":{"polluted":true}}');
      expectProblem(res, 400);
      // Refused by the input guard for the key itself, not later by validation for an unknown field.
      expect(res.body).toMatchObject({
        detail: 'The key "__proto__" is not allowed.',
        errors: [{ field: '__proto__', message: 'reserved key' }],
      });
      const nested = await t.http
        .post('/__probe/echo')
        .set('content-type', 'application/json')
        .send('{"name":"x","count":1,"items":[{"label":"a","constructor":{"prototype":{"polluted":true}}}]}');
      expectProblem(nested, 400);
      expect(nested.body.errors).toEqual([{ field: 'constructor', message: 'reserved key' }]);
    });

    it("answers Fastify's own refusals as problem+json (an overlong path parameter)", async () => {
      const res = await t.http.get(`/__probe/${'a'.repeat(5000)}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectProblem(res, res.status);
      expect(res.body.instance).toBe(`/__probe/${'a'.repeat(5000)}`);
      expect(res.body).toMatchObject({ type: 'about:blank', detail: expect.any(String) });
    });
  });

  describe('request ids', () => {
    it('echoes a sane X-Request-Id', async () => {
      const res = await t.http.get('/health').set('x-request-id', 'abc-123.XYZ:9').expect(200);
      expect(res.headers['x-request-id']).toBe('abc-123.XYZ:9');
    });

    it('replaces one that is not sane with a fresh uuid', async () => {
      const res = await t.http.get('/health').set('x-request-id', 'bad id <script>').expect(200);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('makes one when the client sends none, a different one each time', async () => {
      const a = await t.http.get('/health');
      const b = await t.http.get('/health');
      expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });
  });

  describe('headers', () => {
    it('sends security headers, with a CSP that lets Swagger UI load its own assets', async () => {
      const res = await t.http.get('/docs').expect(200);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      const csp = res.headers['content-security-policy'];
      expect(csp).toMatch(/script-src 'self'/);
      expect(csp).not.toMatch(/upgrade-insecure-requests/);
      expect(res.text).toMatch(/swagger-ui/);
      await t.http.get('/docs/swagger-ui-init.js').expect(200);
      expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('allows the configured CORS origin and no other', async () => {
      const allowed = await t.http
        .options('/health')
        .set('origin', 'https://app.example.com')
        .set('access-control-request-method', 'GET');
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
      const other = await t.http.get('/health').set('origin', 'https://evil.example.com');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('gives a cross-origin GET /health its CORS header after plain ones took the fast path', async () => {
      const before = await fastLivenessAnswers(t);
      for (let i = 0; i < 3; i++) await t.http.get('/health').expect(200);
      // At most the first took the pipeline (for the fast path to learn its headers).
      const fast = (await fastLivenessAnswers(t)) - before;
      expect(fast).toBeGreaterThanOrEqual(2);
      const res = await t.http.get('/health').set('origin', 'https://app.example.com').expect(200);
      expect((await fastLivenessAnswers(t)) - before).toBe(fast);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(res.headers['access-control-expose-headers']).toMatch(/x-request-id/);
    });
  });

  describe('logs', () => {
    it('writes one JSON line per request with method, route, status, duration and request id, never the body', async () => {
      await t.http
        .post('/__probe/echo')
        .set('x-request-id', 'log-check-1')
        .set('authorization', 'Bearer top-secret-token')
        .send({ name: 'hunter2', count: 1, items: [] })
        .expect(201);
      const lines = t.logs.filter((l) => l.includes('log-check-1'));
      expect(lines).toHaveLength(1);
      const entry = JSON.parse(lines[0]);
      expect(entry).toMatchObject({
        method: 'POST',
        route: '/__probe/echo',
        status: 201,
        durationMs: expect.any(Number),
        requestId: 'log-check-1',
      });
      expect(lines[0]).not.toMatch(/hunter2|top-secret-token/);
    });

    it('logs every GET /health, including those the liveness fast path answers', async () => {
      const before = await fastLivenessAnswers(t);
      for (let i = 0; i < 3; i++) await t.http.get('/health').set('x-request-id', `live-${i}`).expect(200);
      expect((await fastLivenessAnswers(t)) - before).toBeGreaterThanOrEqual(2);
      for (let i = 0; i < 3; i++) {
        const lines = t.logs.filter((l) => l.includes(`"live-${i}"`));
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0])).toMatchObject({ method: 'GET', route: '/health', status: 200 });
      }
    });
  });
});
