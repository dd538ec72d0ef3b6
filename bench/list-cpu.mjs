// A quick look at one figure of `npm run bench`: CPU per request of an uncached
// GET /documents?limit=20 (the service with CACHE_TTL_MS=0 at LOG_LEVEL=info, as the
// benchmark's `uncached` server) beside bench/reference-documents-server.mjs, alternated,
// `ROUNDS` times; also GET /documents/:id and a small JSON POST /documents. For iterating
// on the request pipeline: a minute instead of the whole benchmark's three.
// Usage: npm run build && node bench/list-cpu.mjs   (env: ROUNDS=4 BENCH_SECONDS=3 PROFILE=dir, DATABASE_URL, REDIS_URL)
// FLOOR=1 also runs bench/reference-nest-server.mjs in the rounds: the same read in a bare Nest
// application on Fastify, what the framework costs by itself.
// PROFILE=dir writes a --cpu-prof profile of the service (and the reference) to dir, and in
// windows.json when each measured run was (name: service, reference, get, post).
import { benchUser, cpuMicros, freshDatabase, load, seedForUser, serviceEnv, startServer } from './lib.mjs';

const rounds = Number(process.env.ROUNDS ?? 4);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const profile = process.env.PROFILE;
const prof = (name) =>
  profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profile} --cpu-prof-name=${name}.cpuprofile` } : {};
// Each measured run's time (µs, the clock of --cpu-prof's timestamps), for reading a profile of just those.
const windows = [];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const db = await freshDatabase(adminUrl, 'ultrai_listcpu');
const common = serviceEnv(db.url, redisUrl, 'listcpu');
const servers = [];
try {
  const service = await startServer({
    ...common,
    CACHE_TTL_MS: '0',
    LOG_LEVEL: 'info',
    ...(profile ? { NODE_OPTIONS: `--max-old-space-size=128 ${prof('service').NODE_OPTIONS}` } : {}),
  });
  servers.push(service);
  const reference = await startServer(
    { DATABASE_URL: db.url, ...prof('reference') },
    { script: 'bench/reference-documents-server.mjs', readyPath: '/health' },
  );
  servers.push(reference);
  const floor = process.env.FLOOR
    ? await startServer({ DATABASE_URL: db.url }, { script: 'bench/reference-nest-server.mjs', readyPath: '/health' })
    : undefined;
  if (floor) servers.push(floor);
  const { email, auth: headers } = await benchUser(service.url);
  const { documentId } = await seedForUser(db.url, email);

  const cpuPerRequest = async (server, options, name = server === service ? 'service' : 'reference') => {
    await load({ ...options, duration: 0.5 });
    const before = cpuMicros(server.pid);
    const start = process.hrtime.bigint() / 1000n;
    const r = await load({ duration: seconds, ...options });
    windows.push({ name, start: Number(start), end: Number(process.hrtime.bigint() / 1000n) });
    if (r.failed) process.stderr.write(`${r.failed} failed\n`);
    return { us: (cpuMicros(server.pid) - before) / r.requests, p99: r.p99, rps: r.rps };
  };
  const path = '/documents?limit=20';
  const ours = [];
  const theirs = [];
  const bare = [];
  for (let i = 0; i < rounds; i++) {
    const a = await cpuPerRequest(service, { url: `${service.url}${path}`, headers });
    const b = await cpuPerRequest(reference, { url: `${reference.url}${path}`, headers });
    ours.push(a.us);
    theirs.push(b.us);
    const c = floor && (await cpuPerRequest(floor, { url: `${floor.url}${path}`, headers }, 'floor'));
    if (c) bare.push(c.us);
    console.log(
      `round ${i + 1}: service ${a.us.toFixed(0)} µs (${a.rps.toFixed(0)} req/s, p99 ${a.p99} ms), reference ${b.us.toFixed(0)} µs (${b.rps.toFixed(0)} req/s): ${(a.us / b.us).toFixed(2)}×` +
        (c ? `; bare Nest + Fastify ${c.us.toFixed(0)} µs: ${(c.us / b.us).toFixed(2)}×` : ''),
    );
  }
  console.log(
    `GET /documents?limit=20 median: service ${median(ours).toFixed(0)} µs, reference ${median(theirs).toFixed(0)} µs, ratio ${(median(ours) / median(theirs)).toFixed(2)}× (ratio of medians)`,
  );
  if (floor) {
    console.log(
      `bare Nest + Fastify median: ${median(bare).toFixed(0)} µs, ${(median(bare) / median(theirs)).toFixed(2)}× the reference`,
    );
  }
  if (!process.env.LIST_ONLY) {
    const one = await cpuPerRequest(service, { url: `${service.url}/documents/${documentId}`, headers }, 'get');
    console.log(`GET /documents/:id: ${one.us.toFixed(0)} µs, p99 ${one.p99} ms`);
    const post = await cpuPerRequest(
      service,
      {
        url: `${service.url}/documents`,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Bench note', content: 'A short note of a few words.', tags: ['bench'] }),
      },
      'post',
    );
    console.log(`POST /documents small JSON: ${post.us.toFixed(0)} µs, p99 ${post.p99} ms`);
  }
} finally {
  if (profile) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(profile, { recursive: true });
    writeFileSync(`${profile}/windows.json`, JSON.stringify(windows));
  }
  for (const s of servers) await s.stop();
  await db.drop();
}
