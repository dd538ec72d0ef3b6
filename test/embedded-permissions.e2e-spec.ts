import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppLogger } from '../src/common/logger.js';
import { openEmbeddedDatabase } from '../src/database/embedded.js';

/** Every entry under `root` whose permission bits are not `dirs` / `files`, as "mode path". */
function looser(root: string, dirs: number, files: number): string[] {
  const wrong: string[] = [];
  const visit = (path: string) => {
    const stat = statSync(path);
    const mode = stat.mode & 0o777;
    if (mode !== (stat.isDirectory() ? dirs : files)) wrong.push(`${mode.toString(8)} ${path.slice(root.length)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return wrong;
}

describe('embedded database files', () => {
  let parent: string;
  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'ultrai-perms-'));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('are readable by their owner only: directories 0700, files 0600', async () => {
    const dataDir = join(parent, 'data');
    const db = await openEmbeddedDatabase(dataDir, new AppLogger('silent', false));
    try {
      await db.pglite.exec(`CREATE TABLE secrets (value text); INSERT INTO secrets VALUES ('hunter2')`);
      // Other users cannot even list the directory while the database is open.
      expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
    } finally {
      await db.close();
    }
    expect(looser(dataDir, 0o700, 0o600)).toEqual([]);
  });
});
