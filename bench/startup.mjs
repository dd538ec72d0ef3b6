// Cold start (process spawn to the first 200 from /health/ready) and idle RSS,
// on real PostgreSQL (when DATABASE_URL is set) and on the embedded database.
// Usage: npm run build && [DATABASE_URL=postgres://...] node bench/startup.mjs [runs]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rssMiB, startServer } from './lib.mjs';

const runs = Number(process.argv[2] ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One start (with the image's environment, as every benchmark), then idle RSS 3 s later. */
async function once(env) {
  // The embedded database is a development mode: production refuses to start without DATABASE_URL.
  const server = await startServer({ NODE_ENV: 'development', ...env });
  await new Promise((r) => setTimeout(r, 3000));
  const idle = rssMiB(server.pid);
  await server.stop();
  return { coldMs: server.coldStartMs, idle };
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
