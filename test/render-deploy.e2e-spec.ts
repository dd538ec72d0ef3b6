import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, ROOT, spawnNode, waitFor200 } from './support/process.js';

/** What render.yaml promises, checked against the built service. */
describe('the Render health check and PORT', () => {
  const web = parse(readFileSync(join(ROOT, 'render.yaml'), 'utf8')).services.find(
    (s: { type: string }) => s.type === 'web',
  );
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('listens on PORT and answers the healthCheckPath without a token', async () => {
    const port = await freePort();
    const server = spawnNode(['dist/main.js'], { ...db.env, PORT: String(port) });
    try {
      await waitFor200(`http://127.0.0.1:${port}${web.healthCheckPath}`, server, 60_000);
      const res = await fetch(`http://127.0.0.1:${port}${web.healthCheckPath}`);
      expect(res.status).toBe(200);
      expect(server.output()).toContain(`:${port}`);
    } finally {
      server.child.kill('SIGTERM');
      expect((await server.exit).code).toBe(0);
    }
  });
});
