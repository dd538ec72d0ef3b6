// `npm start` runs this first (prestart): builds only when dist/ is missing or older
// than what it is built from, so a second start takes about a second instead of ~15 s
// of `nest build` and bundling. `npm run build` always builds; `npm run start:dev` watches.
// Usage: node scripts/build-if-stale.mjs [project directory, default: this repository]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
const SOURCES = [
  'src',
  'migrations',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'scripts/bundle.mjs',
  'scripts/externals.mjs',
];
const OUTPUTS = ['dist/main.js', 'dist/server.cjs', 'dist/cli.js'];

/** The newest file under `path` (itself when a file), or undefined when it does not exist. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined;
  }
  if (!stat.isDirectory()) return { path, mtimeMs: stat.mtimeMs };
  let found;
  for (const entry of readdirSync(path)) {
    const candidate = newest(join(path, entry));
    if (candidate && (!found || candidate.mtimeMs > found.mtimeMs)) found = candidate;
  }
  return found;
}

function staleReason() {
  let oldestOutput = Infinity;
  for (const output of OUTPUTS) {
    const found = newest(join(root, output));
    if (!found) return `${output} is missing`;
    oldestOutput = Math.min(oldestOutput, found.mtimeMs);
  }
  for (const source of SOURCES) {
    const found = newest(join(root, source));
    if (found && found.mtimeMs > oldestOutput) return `${relative(root, found.path)} changed since the last build`;
  }
  return undefined;
}

const reason = staleReason();
if (reason === undefined) {
  console.log('dist/ is up to date: starting without a build (`npm run build` forces one)');
} else {
  console.log(`Building: ${reason}`);
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exitCode = build.status ?? 1;
}
