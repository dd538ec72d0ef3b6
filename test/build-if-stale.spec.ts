import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/process.js';

/**
 * `npm start` runs scripts/build-if-stale.mjs first. Here it runs on a small project of
 * its own, whose build only records that it ran, so each case shows whether it built.
 */
describe('npm start builds only when dist/ is stale', () => {
  let project: string;

  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), 'ultrai-prestart-'));
    const build =
      "require('fs').appendFileSync('built', 'x'); for (const f of ['main.js', 'server.cjs', 'cli.js']) require('fs').writeFileSync('dist/' + f, '')";
    writeFileSync(join(project, 'package.json'), JSON.stringify({ scripts: { build: `node -e "${build}"` } }));
    writeFileSync(join(project, 'package-lock.json'), '{}');
    mkdirSync(join(project, 'src', 'users'), { recursive: true });
    writeFileSync(join(project, 'src', 'users', 'users.service.ts'), '');
    mkdirSync(join(project, 'dist'));
    backdate(['package.json', 'package-lock.json', 'src/users/users.service.ts'], 60);
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  function backdate(files: string[], seconds: number): void {
    const when = new Date(Date.now() - seconds * 1000);
    for (const file of files) utimesSync(join(project, file), when, when);
  }

  function prestart(): { output: string; built: boolean } {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.mjs'), project], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    const built = existsSync(join(project, 'built'));
    rmSync(join(project, 'built'), { force: true });
    return { output: run.stdout, built };
  }

  it('builds when dist/ is missing, then not again until a source changes', () => {
    const first = prestart();
    expect(first).toMatchObject({ built: true });
    expect(first.output).toMatch(/Building: dist\/main\.js is missing/);

    const second = prestart();
    expect(second).toEqual({ built: false, output: expect.stringMatching(/dist\/ is up to date/) });

    // A source saved after the build (its mtime ahead of dist/main.js) makes the next start build.
    writeFileSync(join(project, 'src', 'users', 'users.service.ts'), 'export {};');
    const future = new Date(Date.now() + 5000);
    utimesSync(join(project, 'src', 'users', 'users.service.ts'), future, future);
    const third = prestart();
    expect(third.built).toBe(true);
    expect(third.output).toMatch(/Building: src\/users\/users\.service\.ts changed since the last build/);
  });

  it('builds after the dependencies change (package-lock.json newer than dist/)', () => {
    prestart();
    const future = new Date(Date.now() + 5000);
    utimesSync(join(project, 'package-lock.json'), future, future);
    const next = prestart();
    expect(next.built).toBe(true);
    expect(next.output).toMatch(/Building: package-lock\.json changed/);
  });
});
