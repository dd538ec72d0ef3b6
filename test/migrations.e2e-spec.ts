import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../migrations/index.js';
import { AppLogger } from '../src/common/logger.js';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { type EmbeddedDatabase, openEmbeddedDatabase } from '../src/database/embedded.js';
import { revertLastMigration, runPendingMigrations } from '../src/database/migrator.js';
import { testConfig } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { realPostgres } from './support/env.js';
import { spawnNode } from './support/process.js';

const ALL = MIGRATIONS.map((m) => new m().name);

interface Opened {
  dataSource: DataSource;
  close(): Promise<void>;
}

async function open(db: TestDatabase): Promise<Opened> {
  const config = testConfig(db.env);
  let embedded: EmbeddedDatabase | undefined;
  if (config.embeddedDatabase) embedded = await openEmbeddedDatabase(config.dataDir, new AppLogger('silent', false));
  const dataSource = await new DataSource(dataSourceOptions(config, embedded?.pgOptions)).initialize();
  return {
    dataSource,
    async close() {
      await dataSource.destroy();
      await embedded?.close();
    },
  };
}

async function tables(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ table_name: string }> = await dataSource.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

describe('migrations', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => db.drop());

  it('apply on a fresh database, then do nothing the second time', async () => {
    const { dataSource, close } = await open(db);
    try {
      expect(await runPendingMigrations(dataSource)).toEqual(ALL);
      expect(await tables(dataSource)).toEqual(expect.arrayContaining(['migrations', 'users', 'sessions']));
      expect(await runPendingMigrations(dataSource)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('revert one by one back to an empty schema', async () => {
    const { dataSource, close } = await open(db);
    try {
      await runPendingMigrations(dataSource);
      for (let i = 0; i < ALL.length; i++) await revertLastMigration(dataSource);
      expect(await tables(dataSource)).toEqual(['migrations']);
      expect(await dataSource.query('SELECT * FROM migrations')).toEqual([]);
      expect(await runPendingMigrations(dataSource)).toEqual(ALL);
    } finally {
      await close();
    }
  });

  it('two runners started together apply each migration exactly once', async () => {
    // Real PostgreSQL: two pools, as two instances would have. Embedded: one
    // PGlite can only be opened once, so both runners share it.
    const first = await open(db);
    const second = realPostgres ? await open(db) : first;
    try {
      const results = await Promise.all([
        runPendingMigrations(first.dataSource),
        runPendingMigrations(second.dataSource),
      ]);
      expect(results.flat().sort()).toEqual([...ALL].sort());
      const rows: Array<{ name: string }> = await first.dataSource.query('SELECT name FROM migrations');
      expect(rows.map((r) => r.name).sort()).toEqual([...ALL].sort());
    } finally {
      if (second !== first) await second.close();
      await first.close();
    }
  });

  if (realPostgres) {
    // Not registered on the embedded database: it has one connection, so no second instance.
    it('a runner waits while another instance holds the migration lock (real PostgreSQL only)', async () => {
      const holder = await open(db);
      const runner = await open(db);
      const lockRunner = holder.dataSource.createQueryRunner();
      try {
        await lockRunner.query('SELECT pg_advisory_lock(7361004221)');
        let finished = false;
        const run = runPendingMigrations(runner.dataSource).then((applied) => {
          finished = true;
          return applied;
        });
        // Until PostgreSQL shows the runner queued behind the lock, or the runner did not wait.
        const waiting = async () =>
          Number(
            (
              await holder.dataSource.query(
                `SELECT count(*) AS n FROM pg_locks
                  WHERE locktype = 'advisory' AND NOT granted
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
              )
            )[0].n,
          );
        while (!finished && (await waiting()) === 0) await new Promise((r) => setTimeout(r, 20));
        expect(finished).toBe(false);
        expect(await tables(holder.dataSource)).not.toContain('users');
        await lockRunner.query('SELECT pg_advisory_unlock(7361004221)');
        expect(await run).toEqual(ALL);
      } finally {
        await lockRunner.release();
        await runner.close();
        await holder.close();
      }
    });
  }

  it('makes usernames unique regardless of case, renaming later duplicates made before', async () => {
    const { dataSource, close } = await open(db);
    try {
      await runPendingMigrations(dataSource);
      const unique = ALL.indexOf('UniqueUsernames1764340000000');
      for (let i = unique; i < ALL.length; i++) await revertLastMigration(dataSource);
      await dataSource.query(
        `INSERT INTO users (email, username, password_hash, created_at) VALUES
           ('first@example.com', 'Ada', 'x', now() - interval '2 days'),
           ('second@example.com', 'ada', 'x', now() - interval '1 day'),
           ('third@example.com', 'ADA', 'x', now()),
           ('other@example.com', 'grace', 'x', now())`,
      );
      expect(await runPendingMigrations(dataSource)).toEqual(ALL.slice(unique));
      const rows: Array<{ email: string; username: string }> = await dataSource.query(
        'SELECT email, username FROM users ORDER BY email',
      );
      expect(rows).toEqual([
        { email: 'first@example.com', username: 'Ada' },
        { email: 'other@example.com', username: 'grace' },
        { email: 'second@example.com', username: expect.stringMatching(/^ada-[0-9a-f]{8}$/) },
        { email: 'third@example.com', username: expect.stringMatching(/^ADA-[0-9a-f]{8}$/) },
      ]);
      await expect(
        dataSource.query(`INSERT INTO users (email, username, password_hash) VALUES ('x@example.com', 'GRACE', 'x')`),
      ).rejects.toMatchObject({ driverError: { code: '23505' } });
    } finally {
      await close();
    }
  });

  it('npm run migration:run / migration:revert work through the built CLI', async () => {
    const run = spawnNode(['dist/cli.js', 'migration:run'], db.env);
    expect((await run.exit).code).toBe(0);
    expect(run.output()).toContain(`Applied: ${ALL.join(', ')}`);
    const again = spawnNode(['dist/cli.js', 'migration:run'], db.env);
    expect((await again.exit).code).toBe(0);
    expect(again.output()).toContain('No pending migrations.');
    const revert = spawnNode(['dist/cli.js', 'migration:revert'], db.env);
    expect((await revert.exit).code).toBe(0);
    expect(revert.output()).toContain('Reverted');
  });
});
