import type { DataSource } from 'typeorm';
import { PooledDataSource } from './pooled-data-source.js';
import type { AppConfig } from '../config/config.js';
import type { AppLogger } from '../common/logger.js';
import { dataSourceOptions } from './data-source-options.js';
import { type EmbeddedDatabase, openEmbeddedDatabase } from './embedded.js';
import { runPendingMigrations } from './migrator.js';

const RETRY_MS = 2000;

export type DatabaseState = 'connecting' | 'ready' | 'failed';

/**
 * Owns the DataSource: opens it (PostgreSQL or embedded PGlite), applies
 * pending migrations under the advisory lock, and closes it on shutdown.
 *
 * If PostgreSQL cannot be reached at start, the service still starts (liveness
 * answers, readiness says 503) and keeps retrying in the background, so a
 * database that comes up after the app does not need a restart.
 */
export class Database {
  state: DatabaseState = 'connecting';
  private readonly readyTasks: Array<(dataSource: DataSource) => Promise<void>> = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private closing = false;

  private constructor(
    readonly dataSource: DataSource,
    private readonly logger: AppLogger,
    private readonly embedded?: EmbeddedDatabase,
  ) {}

  static async open(config: AppConfig, logger: AppLogger): Promise<Database> {
    if (config.embeddedDatabase) {
      const embedded = await openEmbeddedDatabase(config.dataDir, logger);
      const database = new Database(
        new PooledDataSource(dataSourceOptions(config, embedded.pgOptions)),
        logger,
        embedded,
      );
      try {
        await database.connectAndMigrate();
      } catch (error) {
        await database.close();
        throw error;
      }
      return database;
    }
    const database = new Database(new PooledDataSource(dataSourceOptions(config)), logger);
    try {
      await database.dataSource.initialize();
    } catch (error) {
      logger.warn(
        `PostgreSQL is not reachable (${describe(error)}); retrying every ${RETRY_MS / 1000} s, readiness answers 503 until then`,
        'Database',
      );
      database.scheduleRetry();
      return database;
    }
    await database.migrate();
    return database;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /**
   * Work that needs the migrated database once per start (e.g. promoting ADMIN_EMAILS):
   * now if it is ready, else as soon as it is, before readiness answers 200.
   */
  async whenReady(task: (dataSource: DataSource) => Promise<void>): Promise<void> {
    if (this.ready) await task(this.dataSource);
    else this.readyTasks.push(task);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    try {
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    } finally {
      await this.embedded?.close();
    }
  }

  private async connectAndMigrate(): Promise<void> {
    await this.dataSource.initialize();
    await this.migrate();
  }

  private async migrate(): Promise<void> {
    const applied = await runPendingMigrations(this.dataSource);
    if (applied.length > 0) this.logger.log(`Applied migrations: ${applied.join(', ')}`, 'Database');
    for (const task of this.readyTasks.splice(0)) await task(this.dataSource);
    this.state = 'ready';
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => void this.retry(), RETRY_MS);
    this.retryTimer.unref();
  }

  private async retry(): Promise<void> {
    if (this.closing) return;
    try {
      await this.dataSource.initialize();
    } catch {
      this.scheduleRetry();
      return;
    }
    try {
      await this.migrate();
      this.logger.log('PostgreSQL is reachable; database ready', 'Database');
    } catch (error) {
      this.state = 'failed';
      this.logger.error(`Migrations failed: ${describe(error)}`, undefined, 'Database');
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}
