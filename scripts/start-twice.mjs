// The README's quick start, timed: in a checkout (default: this one), removes dist/, then
// runs `npm start` twice on a new embedded database (a temporary DATA_DIR), each until
// the "Listening on" line, and stops it. The first start builds and creates the database;
// the second must do neither. Prints both times, then "N passed, N failed" (.ci/run).
// Usage: node scripts/start-twice.mjs [checkout]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './free-port.mjs';

const checkout = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
const dataDir = mkdtempSync(join(tmpdir(), 'ultrai-start-twice-'));

/** `npm start` until it logs that it listens (ms from spawn), then SIGTERM to its process group. */
async function start() {
  const env = { ...process.env, DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'NODE_ENV', 'JWT_SECRET', 'LOG_LEVEL']) delete env[name];
  const started = performance.now();
  const child = spawn('npm', ['start'], { cwd: checkout, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listening = new Promise((done, fail) => {
    const onData = (chunk) => {
      output += chunk;
      if (/Listening on /.test(output)) done(performance.now() - started);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => fail(new Error(`npm start exited ${code} before listening:\n${output}`)));
  });
  const exited = new Promise((done) => child.on('exit', done));
  try {
    return { ms: await listening, output };
  } finally {
    process.kill(-child.pid, 'SIGTERM');
    await exited;
    // npm may exit before the server has finished closing the database it holds.
    while (groupAlive(child.pid)) await new Promise((r) => setTimeout(r, 50));
  }
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

let passed = 0;
let failed = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (ok) passed += 1;
  else failed += 1;
}

try {
  rmSync(join(checkout, 'dist'), { recursive: true, force: true });
  const first = await start();
  const second = await start();
  console.log(`first npm start (build, new database): ${(first.ms / 1000).toFixed(1)} s to "Listening"`);
  console.log(`second npm start: ${(second.ms / 1000).toFixed(1)} s to "Listening"`);
  check(/Building: dist\/main\.js is missing/.test(first.output), 'the first start builds');
  check(/dist\/ is up to date/.test(second.output), 'the second start says dist/ is up to date');
  check(!/nest build/.test(second.output), 'the second start does not run the build');
  check(/Opening the embedded database/.test(second.output), 'the second start reopens the database it made');
} catch (error) {
  console.log(String(error));
  failed += 1;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
