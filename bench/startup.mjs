// Cold start (process spawn to the first 200 from /health/ready) and idle RSS,
// on real PostgreSQL (when DATABASE_URL is set) and on the embedded database.
// Usage: npm run build && [DATABASE_URL=postgres://...] node bench/startup.mjs [runs]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 5);
const root = new URL('..', import.meta.url).pathname;

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const rssMiB = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match[1]) / 1024;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(env) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET: 'x'.repeat(32),
      ...env,
    },
    stdio: 'ignore',
  });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) break;
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null) throw new Error('server exited');
    await new Promise((r) => setTimeout(r, 5));
  }
  const coldMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 3000));
  const idle = rssMiB(child.pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  return { coldMs, idle };
}

async function measure(label, env) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await once(env));
  const cold = results.map((r) => r.coldMs);
  const idle = results.map((r) => r.idle);
  console.log(
    `${label.padEnd(22)} cold start median ${median(cold).toFixed(0)} ms (min ${Math.min(...cold).toFixed(0)}, max ${Math.max(...cold).toFixed(0)}), idle RSS median ${median(idle).toFixed(1)} MiB`,
  );
}

console.log(`node ${process.version}, ${runs} runs each`);
if (process.env.DATABASE_URL) await measure('PostgreSQL', { DATABASE_URL: process.env.DATABASE_URL });
const dataDir = mkdtempSync(join(tmpdir(), 'ultrai-bench-'));
try {
  const first = await once({ DATA_DIR: dataDir });
  console.log(`${'embedded, first start'.padEnd(22)} ${first.coldMs.toFixed(0)} ms (creates the database)`);
  await measure('embedded (PGlite)', { DATA_DIR: dataDir });
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
