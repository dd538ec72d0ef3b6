import pg from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import type { AppConfig } from '../config/config.js';
import { ENTITIES } from './entities.js';

export function dataSourceOptions(config: AppConfig, embeddedPgOptions?: Record<string, unknown>): DataSourceOptions {
  const ssl = config.databaseSsl === false ? undefined : { rejectUnauthorized: config.databaseSsl === 'verify' };
  return {
    type: 'postgres',
    // Handed over rather than left for TypeORM to require() by name at run time, which a
    // bundler cannot see: the image has no node_modules/pg (scripts/bundle.mjs).
    driver: pg,
    url: embeddedPgOptions ? undefined : config.databaseUrl,
    ssl,
    poolSize: embeddedPgOptions ? 1 : config.databasePoolMax,
    // A pool connection that cannot be had in 2 s fails the request (503) instead of hanging it.
    connectTimeoutMS: 2000,
    applicationName: 'ultrai-core',
    extra: embeddedPgOptions ?? { idleTimeoutMillis: 30_000 },
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    logging: false,
  };
}
