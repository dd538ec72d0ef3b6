import { startTestApp, type TestApp } from './support/app.js';

const PRODUCTION = { nodeEnv: 'production' } as const;

describe('/metrics in production', () => {
  it('answers 404 without METRICS_TOKEN, and says so at start', async () => {
    const t = await startTestApp({ override: PRODUCTION, logs: { level: 'info', json: false } });
    try {
      const res = await t.http.get('/metrics').expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toMatch(/http_requests_total|process_resident_memory_bytes/);
      expect(t.logs.join('\n')).toMatch(/METRICS_TOKEN is not set: GET \/metrics answers 404/);
    } finally {
      await t.close();
    }
  });

  it('serves them with METRICS_TOKEN, to that token only', async () => {
    const t = await startTestApp({ override: PRODUCTION, env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
    try {
      await t.http.get('/metrics').expect(401);
      const res = await t.http.get('/metrics').set('authorization', 'Bearer metrics-token-0123456789').expect(200);
      expect(res.text).toMatch(/^process_resident_memory_bytes \d+/m);
    } finally {
      await t.close();
    }
  });
});

describe('DOCS_ENABLED=false', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { DOCS_ENABLED: 'false' }, logs: { level: 'info', json: false } });
  });
  afterAll(() => t.close());

  it('turns off Swagger UI and the OpenAPI document (404), and says so at start', async () => {
    for (const path of ['/docs', '/docs/', '/docs/openapi.json']) {
      const res = await t.http.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(t.logs.join('\n')).toMatch(/DOCS_ENABLED=false/);
    // The API itself is there.
    await t.http.get('/health').expect(200);
  });
});
