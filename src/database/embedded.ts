import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { AppLogger } from '../common/logger.js';
import { ConfigError } from '../config/config.js';
import { DirectoryLock } from './directory-lock.js';

export interface EmbeddedDatabase {
  pglite: PGlite;
  /** Options for `pg`: route its one connection into PGlite, in process. */
  pgOptions: Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * Opens PGlite under `dataDir/pgdata`, holding the directory lock for as long
 * as it is open. PGlite is imported lazily so a PostgreSQL deployment never
 * loads its WebAssembly.
 */
export async function openEmbeddedDatabase(dataDir: string, logger: AppLogger): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const lock = DirectoryLock.acquire(dataDir);
  try {
    const pgdata = join(dataDir, 'pgdata');
    const created = !existsSync(pgdata);
    if (!created) {
      logger.log(`Opening the embedded database in ${pgdata}`, 'Database');
    } else {
      logger.log(
        `No DATABASE_URL: creating the embedded database in ${pgdata} (first start only, ~10 s). ` +
          'It is for development; set DATABASE_URL for production.',
        'Database',
      );
    }
    // One after the other: both share chunks, and Jest's ESM loader fails on
    // two concurrent imports of the same chunk.
    const { PGlite } = await import('@electric-sql/pglite').catch(missingEmbeddedDatabase);
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    const pglite = await PGlite.create({ dataDir: pgdata });
    if (created) restrictToOwner(pgdata);
    const pgConfig = createPgConfig(pglite);
    let closed = false;
    return {
      pglite,
      // One connection only, never closed for idleness: PGlite is a single backend.
      pgOptions: { connection: pgConfig.connection, max: 1, idleTimeoutMillis: 0 },
      async close() {
        if (closed) return;
        closed = true;
        try {
          await pglite.close();
          restrictToOwner(pgdata);
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * The files hold every password hash and document: owner only. PGlite's
 * file system creates them world-readable (0666, whatever the umask); the data
 * directory is 0700 while it runs, and on a clean close every file becomes 0600.
 */
function restrictToOwner(directory: string): void {
  chmodSync(directory, 0o700);
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) restrictToOwner(path);
    else chmodSync(path, 0o600);
  }
}

/** The image leaves PGlite out (scripts/externals.mjs): say what to do instead of a module error. */
function missingEmbeddedDatabase(error: unknown): never {
  if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
    throw new ConfigError([
      'DATABASE_URL is not set, and the embedded database is not installed in this build: set DATABASE_URL',
    ]);
  }
  throw error;
}
