// Fills V8's compile cache for dist/main.js (run in the image's build stage, see the
// Dockerfile): starts the server on the embedded database with NODE_COMPILE_CACHE set,
// waits until it is ready and has written the code cache of the server's bundle (dist/main.js
// does once its first response is done: src/launcher.ts), stops it; Node writes the code it
// compiled to its own cache as it exits. A later start with the same NODE_COMPILE_CACHE, the same Node version
// and the same V8 flags (NODE_OPTIONS) reuses both instead of compiling the bundle again.
//
// Two starts: the first creates the embedded database (several seconds), long enough for
// V8 to drop the bytecode of the functions it ran first (bytecode flushing), so its code
// cache of the bundle held about half of what a start compiles (3.0 vs 5.8 MB; a start on
// PostgreSQL with that cache used ~1050 ms of CPU, ~780 with the full one). Its cache is
// deleted, and the second start, on the database now there, writes the one the image keeps.
// Usage: NODE_COMPILE_CACHE=<dir> node scripts/warm-compile-cache.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.mjs';

const cacheDir = process.env.NODE_COMPILE_CACHE;
if (!cacheDir) throw new Error('warm-compile-cache: set NODE_COMPILE_CACHE to the cache directory');
const root = join(import.meta.dirname, '..');
const dataDir = mkdtempSync(join(tmpdir(), 'ultrai-warm-'));
const serverCodeCaches = () => readdirSync(cacheDir).filter((name) => /^ultrai-server-.*\.v8cache$/.test(name));

/** One start on the embedded database in `dataDir`, until ready, then SIGTERM. */
async function startAndStop() {
  const port = await freePort();
  const server = spawn(process.execPath, [join(root, 'dist', 'main.js')], {
    cwd: dataDir,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`warm-compile-cache: the server exited (${server.exitCode})`);
      if (Date.now() > deadline) throw new Error('warm-compile-cache: the server did not get ready within 120 s');
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The server writes its code cache once its first response is done (src/lifecycle/code-cache.ts).
    while (serverCodeCaches().length === 0) {
      if (Date.now() > deadline) throw new Error('warm-compile-cache: the server wrote no code cache within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    server.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`warm-compile-cache: the server exited with ${code} on SIGTERM`);
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

try {
  await startAndStop();
  for (const name of serverCodeCaches()) rmSync(join(cacheDir, name));
  await startAndStop();
  const [codeCache] = serverCodeCaches();
  if (!codeCache) throw new Error("warm-compile-cache: the second start wrote no code cache of the server's bundle");
  console.log(`warm-compile-cache: ${readdirSync(cacheDir, { recursive: true }).length} entries in ${cacheDir}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
