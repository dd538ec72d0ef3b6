import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { spawnNode } from './support/process.js';

/** `node dist/cli.js` says which database it touches, and what to do when the embedded one is busy. */
describe('the CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ultrai-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the database it runs on', async () => {
    const db: TestDatabase = await createTestDatabase();
    try {
      const run = spawnNode(['dist/cli.js', 'migration:run'], db.env);
      expect((await run.exit).code).toBe(0);
      const described = db.env.DATABASE_URL
        ? (() => {
            const url = new URL(db.env.DATABASE_URL);
            return `Database: PostgreSQL ${url.hostname}:${url.port}${url.pathname} as ${url.username} (DATABASE_URL)`;
          })()
        : `Database: embedded, in ${db.env.DATA_DIR} (no DATABASE_URL)`;
      expect(run.output()).toContain(`${described}\n`);
      expect(run.output()).toMatch(/Applied: |No pending migrations/);
    } finally {
      await db.drop();
    }
  });

  it('hides the password of DATABASE_URL, also when it comes from a .env', async () => {
    writeFileSync(join(dir, '.env'), 'DATABASE_URL=postgres://operator:hunter2@127.0.0.1:1/ultrai_prod\n');
    const run = spawnNode(['dist/cli.js', 'users:promote', 'ada@example.com'], {}, dir);
    expect((await run.exit).code).toBe(1);
    expect(run.output()).toContain('Database: PostgreSQL 127.0.0.1:1/ultrai_prod as operator (DATABASE_URL)\n');
    expect(run.output()).toContain('ECONNREFUSED');
    expect(run.output()).not.toContain('hunter2');
  });

  it('when a running server holds the embedded database, says to stop it or to use its admin routes', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    // The lock a running server holds: the pid of a live process (this test's own).
    writeFileSync(join(dataDir, 'ultrai.lock'), String(process.pid));
    const run = spawnNode(['dist/cli.js', 'users:promote', 'ada@example.com'], { DATA_DIR: dataDir }, dir);
    expect((await run.exit).code).toBe(1);
    expect(run.output()).toBe(
      `Database: embedded, in ${dataDir} (no DATABASE_URL)\n` +
        `The embedded database in ${dataDir} is open in another process (pid ${process.pid}), most likely the ` +
        "running server. Stop the server and run this command again, or use the running server's admin routes " +
        'instead (e.g. PATCH /users/{id} with {"role": "admin"} as an administrator; see /docs).\n',
    );
  });
});
