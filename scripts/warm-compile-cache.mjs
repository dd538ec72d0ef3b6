// Fills V8's compile cache for dist/main.js (run in the image's build stage, see the
// Dockerfile): starts the server once on the embedded database with NODE_COMPILE_CACHE
// set, waits until it is ready, stops it; Node writes the code it compiled to the cache
// as it exits, and dist/main.js has written the code cache of the server's bundle once it
// was ready (src/launcher.ts). A later start with the same NODE_COMPILE_CACHE, the same Node version and
// the same V8 flags (NODE_OPTIONS) reuses it instead of compiling the bundle again.
// Usage: NODE_COMPILE_CACHE=<dir> node scripts/warm-compile-cache.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.mjs';

const cacheDir = process.env.NODE_COMPILE_CACHE;
if (!cacheDir) throw new Error('warm-compile-cache: set NODE_COMPILE_CACHE to the cache directory');
const root = join(import.meta.dirname, '..');
const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'ultrai-warm-'));
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
  server.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`warm-compile-cache: the server exited with ${code} on SIGTERM`);
  console.log(`warm-compile-cache: ${readdirSync(cacheDir, { recursive: true }).length} entries in ${cacheDir}`);
} finally {
  if (server.exitCode === null) server.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}
