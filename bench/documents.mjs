// Documents: upload throughput (1 MiB and 10 MiB files), peak RSS while 20
// clients upload 10 MiB at once, and list/search latency with 10,000
// documents in the table (across 100 users). Needs a real PostgreSQL.
// Usage: npm run build && DATABASE_URL=postgres://postgres@127.0.0.1/postgres node bench/documents.mjs
import {
  freshDatabase,
  json,
  load,
  multipartBody,
  peakRssMiB,
  row,
  rssMiB,
  seedDocuments,
  startServer,
} from './lib.mjs';

if (!process.env.DATABASE_URL) {
  console.error('Set DATABASE_URL to a PostgreSQL server (a fresh database is made on it and dropped after).');
  process.exit(2);
}
const duration = Number(process.env.BENCH_SECONDS ?? 10);
const db = await freshDatabase(process.env.DATABASE_URL);
const server = await startServer({
  DATABASE_URL: db.url,
  USER_QUOTA_BYTES: String(Number.MAX_SAFE_INTEGER),
  RATE_LIMIT_MAX: '10000000',
  AUTH_RATE_LIMIT_MAX: '10000000',
  ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
});
try {
  const email = 'bench-docs@example.com';
  const password = 'bench password 123';
  await json(`${server.url}/auth/register`, 'POST', { email, password, username: 'bench' });
  const { access_token: token } = await json(`${server.url}/auth/login`, 'POST', { email, password });
  const auth = { authorization: `Bearer ${token}` };
  console.log(`ultrai-core documents benchmark: node ${process.version}, PostgreSQL`);
  console.log(`idle RSS ${rssMiB(server.pid).toFixed(0)} MiB`);

  for (const [label, mib, amount] of [
    ['1 MiB', 1, 200],
    ['10 MiB', 10, 40],
  ]) {
    const { body, contentType } = multipartBody(`${label}.txt`, 'text/plain', Buffer.alloc(mib * 1024 * 1024, 'a'));
    const started = performance.now();
    const r = await load({
      url: `${server.url}/documents`,
      method: 'POST',
      headers: { ...auth, 'content-type': contentType },
      body,
      connections: 4,
      amount,
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `${row(`POST /documents ${label} file, 4 connections`, r)}   ${((r.requests * mib) / seconds).toFixed(1)} MiB/s`,
    );
  }

  const { body: big, contentType } = multipartBody('big.txt', 'text/plain', Buffer.alloc(10 * 1024 * 1024, 'b'));
  const before = peakRssMiB(server.pid);
  const results = await Promise.all(
    Array.from({ length: 20 }, () =>
      fetch(`${server.url}/documents`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType },
        body: big,
      }).then((res) => res.status),
    ),
  );
  console.log(
    `20 concurrent 10 MiB uploads: statuses ${[...new Set(results)].join(',')}, peak RSS ${peakRssMiB(server.pid).toFixed(0)} MiB (before: ${before.toFixed(0)} MiB)`,
  );

  // 10,000 documents across 100 users, written straight to the table.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await seedDocuments(client);
  const { rows } = await client.query('SELECT count(*)::int AS n FROM documents');
  await client.end();
  console.log(`documents in the table: ${rows[0].n} (the bench user owns about a hundred of them, plus the uploads)`);

  console.log(
    row(
      'GET /documents (20 per page), 50 connections',
      await load({ url: `${server.url}/documents`, headers: auth, duration }),
    ),
  );
  console.log(
    row(
      'GET /documents?q=tango, 50 connections',
      await load({ url: `${server.url}/documents?q=tango`, headers: auth, duration }),
    ),
  );
  console.log(`end-of-run RSS ${rssMiB(server.pid).toFixed(0)} MiB, peak ${peakRssMiB(server.pid).toFixed(0)} MiB`);
} finally {
  await server.stop();
  await db.drop();
}
