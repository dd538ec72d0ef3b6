import { type DataSource, MigrationExecutor } from 'typeorm';

/** Arbitrary but fixed: every instance of this service takes the same lock. */
const MIGRATION_LOCK_KEY = 7_361_004_221;

/**
 * Runs `work` holding a PostgreSQL session advisory lock, on one connection
 * that the migration executor then also uses (so it works on PGlite's single
 * connection). Instances starting together queue here; the first migrates,
 * the others then find nothing pending. If the process dies, the database
 * ends the session and the lock with it.
 */
async function withMigrationLock<T>(
  dataSource: DataSource,
  work: (executor: MigrationExecutor) => Promise<T>,
): Promise<T> {
  const queryRunner = dataSource.createQueryRunner();
  try {
    await queryRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const executor = new MigrationExecutor(dataSource, queryRunner);
      executor.transaction = 'each';
      return await work(executor);
    } finally {
      await queryRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await queryRunner.release();
  }
}

/** Applies pending migrations; returns the names of those applied. */
export function runPendingMigrations(dataSource: DataSource): Promise<string[]> {
  return withMigrationLock(dataSource, async (executor) =>
    (await executor.executePendingMigrations()).map((migration) => migration.name),
  );
}

/** Reverts the most recent migration. */
export function revertLastMigration(dataSource: DataSource): Promise<void> {
  return withMigrationLock(dataSource, (executor) => executor.undoLastMigration());
}
