import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/**
 * Embedded mode: run PGlite's initdb once (it takes seconds) into a template
 * directory; each test app then starts on its own copy of it. The workers
 * find the directory in ULTRAI_PGLITE_TEMPLATE.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const template = join(tmpdir(), 'ultrai-pglite-template');
  process.env.ULTRAI_PGLITE_TEMPLATE = template;
  const pgdata = join(template, 'pgdata');
  if (existsSync(join(pgdata, 'PG_VERSION'))) return;
  rmSync(template, { recursive: true, force: true });
  mkdirSync(template, { recursive: true });
  const pglite = await PGlite.create({ dataDir: pgdata });
  await pglite.close();
}
