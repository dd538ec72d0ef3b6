import type { DynamicModule, Type } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import TestAgent from 'supertest/lib/agent.js';
import { createApp } from '../../src/app.js';
import { AppLogger } from '../../src/common/logger.js';
import { type AppConfig, loadConfig } from '../../src/config/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { REAL_REDIS_URL, TEST_JWT_SECRET } from './env.js';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  http: TestAgent;
  logs: string[];
  close(): Promise<void>;
}

export function testConfig(env: Record<string, string>): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    // Tests log in a lot from one IP: the rate-limit tests set their own limits.
    RATE_LIMIT_MAX: '1000000',
    AUTH_RATE_LIMIT_MAX: '1000000',
    ACCOUNT_LOGIN_FAILURES_MAX: '1000000',
    ...(REAL_REDIS_URL ? { REDIS_URL: REAL_REDIS_URL } : {}),
    ...env,
  });
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse a database (e.g. a second instance); otherwise a fresh one is made and dropped. */
  db?: TestDatabase;
  extraModules?: Array<Type | DynamicModule>;
  /** Capture log lines in `logs` at this level and format. */
  logs?: { level: AppConfig['logLevel']; json: boolean };
}

/** The real application, in process, on its own database, ready for supertest. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownDb = options.db === undefined;
  const db = options.db ?? (await createTestDatabase());
  const config = testConfig({ ...db.env, REDIS_KEY_PREFIX: `test:${db.id}:`, ...options.env });
  const logs: string[] = [];
  const logger = options.logs
    ? new AppLogger(options.logs.level, options.logs.json, (line) => logs.push(line))
    : new AppLogger('silent', false);
  const app = await createApp(config, { logger, extraModules: options.extraModules });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    config,
    db,
    http: request(app.getHttpServer()),
    logs,
    async close() {
      await app.close();
      if (ownDb) await db.drop();
    },
  };
}
