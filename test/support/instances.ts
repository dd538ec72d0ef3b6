import { startTestApp, type TestApp } from './app.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/**
 * Two instances of the application on one database, for the describe block that calls it
 * (started before its tests, closed after). With REDIS_URL they share Redis, as a
 * deployment's instances do: only a real-Redis test can use them to see shared state.
 */
export function twoInstances(env: Record<string, string> = {}): { a: TestApp; b: TestApp } {
  const apps = {} as { a: TestApp; b: TestApp; db: TestDatabase };
  beforeAll(async () => {
    apps.db = await createTestDatabase();
    apps.a = await startTestApp({ db: apps.db, env });
    apps.b = await startTestApp({ db: apps.db, env });
  });
  afterAll(async () => {
    await apps.a?.close();
    await apps.b?.close();
    await apps.db?.drop();
  });
  return apps;
}
