import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/config.js';
import { dataSourceOptions } from './data-source-options.js';

// For `npm run migration:generate` (the TypeORM CLI compares the entities with
// a real database). It needs DATABASE_URL: the CLI cannot open embedded PGlite.
const config = loadConfig();
if (config.embeddedDatabase) {
  throw new Error('migration:generate needs DATABASE_URL pointing at a migrated PostgreSQL database');
}

export default new DataSource(dataSourceOptions(config));
