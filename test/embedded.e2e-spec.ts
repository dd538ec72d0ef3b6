import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { freePort, spawnNode, type Spawned, startMain } from './support/process.js';

/** No DATABASE_URL at all: the service must stand up on PGlite by itself. */
describe('embedded database (no DATABASE_URL)', () => {
  let dataDir: string;
  const running: Spawned[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ultrai-embedded-'));
  });
  afterAll(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = () => startMain({ DATA_DIR: dataDir }, running);

  async function stop(server: Spawned): Promise<void> {
    server.child.kill('SIGTERM');
    const { code, signal } = await server.exit;
    // The output is in the message only when the exit is wrong: it says why.
    expect({ code, signal, output: code === 0 ? '' : server.output().slice(-3000) }).toEqual({
      code: 0,
      signal: null,
      output: '',
    });
  }

  it('creates, migrates, keeps data across restarts and refuses a second process', async () => {
    const first = await start();
    expect(first.server.output()).toMatch(/creating the embedded database in .*first start only/);
    expect(first.server.output()).toMatch(/Applied migrations: CreateUsersAndSessions/);
    expect(await (await fetch(`${first.base}/health/database`)).json()).toEqual({
      status: 'ok',
      database: 'connected',
    });

    const second = spawnNode(['dist/main.js'], { DATA_DIR: dataDir, PORT: String(await freePort()) });
    expect((await second.exit).code).toBe(1);
    expect(second.output()).toMatch(/is in use by another process \(pid \d+\)/);
    expect(second.output()).not.toMatch(/\n\s+at /);

    await stop(first.server);

    const pglite = await PGlite.create({ dataDir: join(dataDir, 'pgdata') });
    await pglite.query(`INSERT INTO users (email, username, password_hash) VALUES ('kept@example.com', 'kept', 'x')`);
    await pglite.close();

    const restarted = await start();
    expect(restarted.server.output()).toMatch(/Opening the embedded database/);
    expect(restarted.server.output()).not.toMatch(/Applied migrations/);
    await stop(restarted.server);

    const check = await PGlite.create({ dataDir: join(dataDir, 'pgdata') });
    const { rows } = await check.query<{ email: string }>('SELECT email FROM users');
    await check.close();
    expect(rows).toEqual([{ email: 'kept@example.com' }]);
    // Three starts, the first one creating and migrating the database: on two shared cores
    // under a full test run, more than the default minute.
  }, 180_000);
});
