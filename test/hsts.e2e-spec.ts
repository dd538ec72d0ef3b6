import { startTestApp, type TestApp } from './support/app.js';

/** HSTS over plain HTTP in development would pin a browser's localhost to HTTPS. */
describe('Strict-Transport-Security outside production', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'development', TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  it('is not sent over plain HTTP', async () => {
    const res = await t.http.get('/docs').expect(200);
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('is sent when the trusted proxy says the client came over HTTPS', async () => {
    const res = await t.http.get('/docs').set('x-forwarded-proto', 'https').expect(200);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  });
});

describe('Strict-Transport-Security without a trusted proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'development' } });
  });
  afterAll(() => t.close());

  it('ignores a forwarded protocol the service has no reason to believe', async () => {
    const res = await t.http.get('/docs').set('x-forwarded-proto', 'https').expect(200);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });
});
