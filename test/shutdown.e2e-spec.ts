import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, spawnNode, waitFor200 } from './support/process.js';

describe('SIGTERM', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('lets an in-flight request finish, refuses new work, closes the pool and exits 0 within 10 s', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawnNode(['test/fixtures/slow-server.mjs'], { ...db.env, PORT: String(port), SLOW_MS: '2000' });
    await waitFor200(`${base}/health/ready`, server);
    // Two plain GET /health: from the second on, the liveness fast path answers (it must stop when draining).
    for (let i = 0; i < 2; i++) expect((await fetch(`${base}/health`)).status).toBe(200);

    const slow = fetch(`${base}/__slow`).then(async (res) => ({ status: res.status, body: await res.json() }));
    while (!server.output().includes('slow request started')) await new Promise((r) => setTimeout(r, 20));
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const late = await fetch(`${base}/health`).then(
      async (res) => (res.status === 503 ? `503 ${((await res.json()) as { type: string }).type}` : res.status),
      () => 'refused',
    );

    expect(await slow).toEqual({ status: 200, body: { done: true } });
    const { code } = await server.exit;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(['503 urn:ultrai:problem:shutting-down', 'refused']).toContain(late);
    expect(server.output()).toMatch(/SIGTERM received/);
    expect(server.output()).toMatch(/Shut down cleanly/);
  });
});
