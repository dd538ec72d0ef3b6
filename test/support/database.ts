import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PGLITE_TEMPLATE_DIR, REAL_DATABASE_URL, realPostgres } from './env.js';

export interface TestDatabase {
  /** Unique per database: also isolates the Redis keys of the apps on it. */
  id: string;
  /** Env for the app: DATABASE_URL for real PostgreSQL, DATA_DIR for embedded. */
  env: Record<string, string>;
  /** For assertions on what is stored (real PostgreSQL only; embedded is locked by the app). */
  url?: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: REAL_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own for one test file: a new database on the real server
 * (named after the run's database, so `.ci/run` can drop leftovers), or a copy
 * of the PGlite template in a temporary DATA_DIR.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (realPostgres) {
    const base = new URL(REAL_DATABASE_URL!);
    const name = `${base.pathname.slice(1) || 'ultrai'}_t${Math.random().toString(36).slice(2, 10)}`;
    await admin((client) => client.query(`CREATE DATABASE "${name}"`));
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      id: name,
      env: { DATABASE_URL: url.toString() },
      url: url.toString(),
      drop: () =>
        admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'ultrai-test-'));
  cpSync(PGLITE_TEMPLATE_DIR, dataDir, { recursive: true });
  return {
    id: dataDir.split('/').pop()!,
    env: { DATA_DIR: dataDir },
    drop: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}
