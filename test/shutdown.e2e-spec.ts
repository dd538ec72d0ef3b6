import { connect } from 'node:net';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, spawnNode, waitFor200 } from './support/process.js';

describe('SIGTERM', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('lets an in-flight request finish, answers new work on a kept-alive connection 503, closes the pool and exits 0 within 10 s', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawnNode(['test/fixtures/slow-server.mjs'], { ...db.env, PORT: String(port), SLOW_MS: '2000' });
    await waitFor200(`${base}/health/ready`, server);
    // Two plain GET /health: from the second on, the liveness fast path answers (it must stop when draining).
    for (let i = 0; i < 2; i++) expect((await fetch(`${base}/health`)).status).toBe(200);

    // One kept-alive connection: the slow request is in flight on it when SIGTERM comes, and a
    // second request sent on it afterwards reaches the draining server (a new connection may
    // be refused instead, which would show nothing).
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(`GET /__slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
    while (!server.output().includes('slow request started')) await new Promise((r) => setTimeout(r, 20));
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    while (!server.output().includes('SIGTERM received')) await new Promise((r) => setTimeout(r, 20));
    socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
    await closed;

    const responses = received.split(/(?=HTTP\/1\.1 )/);
    expect(responses.map((r) => r.split('\r\n')[0])).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 503 Service Unavailable']);
    expect(responses[0]).toMatch(/\r\n\r\n\{"done":true\}$/);
    expect(responses[1]).toMatch(/^connection: close$/im);
    expect(responses[1]).toMatch(/^retry-after: 1$/im);
    expect(JSON.parse(responses[1].split('\r\n\r\n')[1])).toMatchObject({
      type: 'urn:ultrai:problem:shutting-down',
      status: 503,
      instance: '/health',
    });
    const { code } = await server.exit;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(server.output()).toMatch(/SIGTERM received/);
    expect(server.output()).toMatch(/Shut down cleanly/);
  });

  it('exits 1 when in-flight work outlasts SHUTDOWN_TIMEOUT_MS', async () => {
    // A database of its own: the embedded one admits one process, and this must not wait on another test's.
    const own = await createTestDatabase();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawnNode(['test/fixtures/slow-server.mjs'], {
      ...own.env,
      PORT: String(port),
      SLOW_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '300',
    });
    await waitFor200(`${base}/health/ready`, server);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET /__slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    while (!server.output().includes('slow request started')) await new Promise((r) => setTimeout(r, 20));
    server.child.kill('SIGTERM');
    const { code } = await server.exit;
    socket.destroy();
    await own.drop();
    expect(code).toBe(1);
    expect(server.output()).toContain('Shutdown took longer than 300 ms; exiting');
    expect(server.output()).not.toContain('Shut down cleanly');
  });
});
