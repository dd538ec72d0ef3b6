// What tracing costs: CPU per request of an uncached GET /documents?limit=20 with
// OpenTelemetry off (OTEL_EXPORTER_OTLP_ENDPOINT unset: nothing of it is loaded) and on at
// 100% sampling (OTEL_TRACES_SAMPLER=always_on), exporting over OTLP/HTTP to a plain
// node:http receiver started here (it reads each export and answers 200, counting spans'
// requests). The two services run side by side on the same database and are alternated
// `ROUNDS` times; the receiver runs in this process, so its work is not counted.
// Usage: npm run build && node bench/tracing.mjs   (env: ROUNDS=4 BENCH_SECONDS=3, DATABASE_URL, REDIS_URL)
import { createServer } from 'node:http';
import { benchUser, cpuMicros, freshDatabase, load, seedForUser, serviceEnv, startServer } from './lib.mjs';

const rounds = Number(process.env.ROUNDS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let exports = 0;
let exportedBytes = 0;
const receiver = createServer((req, res) => {
  req.on('data', (chunk) => (exportedBytes += chunk.length));
  req.on('end', () => {
    exports += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${receiver.address().port}`;

const db = await freshDatabase(adminUrl, 'ultrai_tracing');
const common = { ...serviceEnv(db.url, redisUrl, 'tracingbench'), CACHE_TTL_MS: '0', LOG_LEVEL: 'info' };
const servers = [];
try {
  const off = await startServer(common);
  servers.push(off);
  const on = await startServer({
    ...common,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: 'ultrai-core-bench',
    OTEL_TRACES_SAMPLER: 'always_on',
  });
  servers.push(on);
  const { email, auth: headers } = await benchUser(off.url);
  await seedForUser(db.url, email);
  const path = '/documents?limit=20';
  const cpuPerRequest = async (server) => {
    await load({ url: `${server.url}${path}`, headers, duration: 0.5 });
    const before = cpuMicros(server.pid);
    const r = await load({ url: `${server.url}${path}`, headers, duration: seconds });
    if (r.failed) process.stderr.write(`${r.failed} failed\n`);
    return { us: (cpuMicros(server.pid) - before) / r.requests, rps: r.rps, p99: r.p99 };
  };
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i++) {
    const x = await cpuPerRequest(off);
    const y = await cpuPerRequest(on);
    a.push(x.us);
    b.push(y.us);
    console.log(
      `round ${i + 1}: tracing off ${x.us.toFixed(0)} µs (${x.rps.toFixed(0)} req/s, p99 ${x.p99} ms), ` +
        `on at 100% ${y.us.toFixed(0)} µs (${y.rps.toFixed(0)} req/s, p99 ${y.p99} ms)`,
    );
  }
  const [mOff, mOn] = [median(a), median(b)];
  console.log(
    `GET /documents?limit=20, CPU per request (median of ${rounds}): off ${mOff.toFixed(0)} µs, on at 100% sampling ` +
      `${mOn.toFixed(0)} µs: +${(((mOn - mOff) / mOff) * 100).toFixed(0)}%; the receiver got ${exports} exports ` +
      `(${(exportedBytes / 1024 / 1024).toFixed(1)} MiB)`,
  );
  if (exports === 0) process.exitCode = 1;
} finally {
  for (const s of servers) await s.stop();
  await db.drop();
  receiver.close();
}
