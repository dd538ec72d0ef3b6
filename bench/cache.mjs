// The response cache: authenticated GET /documents served from the cache
// (HIT), the same with the cache off, and GET /health, at 50 connections for
// 10 s each, in one run; plus the hit ratio from /metrics.
// Usage: npm run build && DATABASE_URL=postgres://postgres@127.0.0.1/postgres REDIS_URL=redis://127.0.0.1:6379 node bench/cache.mjs
import { freshDatabase, json, load, row, startServer } from './lib.mjs';

if (!process.env.DATABASE_URL) {
  console.error('Set DATABASE_URL (a fresh database is made on it and dropped after) and REDIS_URL.');
  process.exit(2);
}
const duration = Number(process.env.BENCH_SECONDS ?? 10);
const db = await freshDatabase(process.env.DATABASE_URL);
const common = {
  DATABASE_URL: db.url,
  RATE_LIMIT_MAX: '10000000',
  // Production answers /metrics only to this token.
  METRICS_TOKEN: 'bench-metrics-token',
  REDIS_KEY_PREFIX: `bench${Date.now()}:`,
  ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
};
const cached = await startServer(common);
const uncached = await startServer({ ...common, CACHE_TTL_MS: '0' });
try {
  const email = 'bench-cache@example.com';
  const password = 'bench password 123';
  await json(`${cached.url}/auth/register`, 'POST', { email, password, username: 'bench' });
  const { access_token: token } = await json(`${cached.url}/auth/login`, 'POST', { email, password });
  const auth = { authorization: `Bearer ${token}` };
  for (let i = 0; i < 20; i++) {
    await json(
      `${cached.url}/documents`,
      'POST',
      { title: `Document ${i}`, content: `text ${i}`, tags: ['bench'] },
      auth,
    );
  }

  console.log(
    `ultrai-core cache benchmark: node ${process.version}, PostgreSQL, ${process.env.REDIS_URL ? 'Redis' : 'memory'} cache, ${duration} s per figure, 50 connections`,
  );
  console.log(row('GET /health', await load({ url: `${cached.url}/health`, duration })));
  console.log(
    row('GET /documents, cache on (HIT)', await load({ url: `${cached.url}/documents`, headers: auth, duration })),
  );
  console.log(
    row('GET /documents, cache off', await load({ url: `${uncached.url}/documents`, headers: auth, duration })),
  );

  const metrics = await (
    await fetch(`${cached.url}/metrics`, { headers: { authorization: 'Bearer bench-metrics-token' } })
  ).text();
  const hits = Number(/^cache_hits_total (\d+)/m.exec(metrics)[1]);
  const misses = Number(/^cache_misses_total (\d+)/m.exec(metrics)[1]);
  console.log(
    `hit ratio (cache on): ${((100 * hits) / (hits + misses)).toFixed(2)} % (${hits} hits, ${misses} misses)`,
  );
} finally {
  await cached.stop();
  await uncached.stop();
  await db.drop();
}
