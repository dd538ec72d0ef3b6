/** Set by `.ci/run` (and by anyone with their own servers); unset means embedded mode. */
export const REAL_DATABASE_URL = process.env.DATABASE_URL;
export const REAL_REDIS_URL = process.env.REDIS_URL;
export const realPostgres = REAL_DATABASE_URL !== undefined && REAL_DATABASE_URL !== '';

/** A PGlite data directory made once per run (global-setup.ts), copied for each embedded test app. */
export const PGLITE_TEMPLATE_DIR = process.env.ULTRAI_PGLITE_TEMPLATE ?? '';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123';
