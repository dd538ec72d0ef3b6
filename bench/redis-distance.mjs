// What a Redis that is not on the same machine (Render's Key Value is reached over the
// network) adds to a cached read: each build's server is started with REDIS_URL pointing at
// a TCP proxy in this process that delays every chunk, each way, by --delay ms before passing
// it to the real Redis, and the authenticated cached GET /documents is read over one
// connection (so the figure is the round trips, not queueing), the builds alternated.
// Prints, per build, the mean latency of each round and their median.
// Usage: npm run build && cp -r dist /tmp/dist-before && (change, build) &&
//   node bench/redis-distance.mjs [--delay 1] [--rounds 6] [--requests 1500] dist /tmp/dist-before
// Builds as in startup-cpu.mjs (bench/lib.mjs benchBuilds): a directory outside the project is
// copied in, and Node flags may follow a `+`.
import net from 'node:net';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { benchBuilds, benchUser, freshDatabase, seedForUser, serviceEnv, startServer } from './lib.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    delay: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '6' },
    requests: { type: 'string', default: '1500' },
  },
});
const delay = Number(values.delay);
const rounds = Number(values.rounds);
const amount = Number(values.requests);
const dirs = positionals.length > 0 ? positionals : ['dist'];
const adminUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const [redisHost, redisPort] = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379').host.split(':');

const { builds, remove: removeBuilds } = benchBuilds(dirs);

// Chunks keep their order: each direction is delayed by the same amount.
const proxy = net.createServer((client) => {
  const upstream = net.connect(Number(redisPort ?? 6379), redisHost);
  client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delay));
  upstream.on('data', (chunk) => setTimeout(() => client.write(chunk), delay));
  for (const [a, b] of [
    [client, upstream],
    [upstream, client],
  ]) {
    a.on('close', () => b.destroy());
    a.on('error', () => b.destroy());
  }
});
await new Promise((done) => proxy.listen(0, '127.0.0.1', done));
const redisUrl = `redis://127.0.0.1:${proxy.address().port}`;

const db = await freshDatabase(adminUrl, 'ultrai_bench_redis_distance');
const servers = [];
try {
  for (const [i, { script, flags }] of builds.entries()) {
    servers.push(await startServer(serviceEnv(db.url, redisUrl, `bench-distance-${i}`), { script, nodeArgs: flags }));
  }
  const { auth } = await benchUser(servers[0].url);
  await seedForUser(db.url, 'bench@example.com');
  const means = builds.map(() => []);
  const read = (server) => autocannon({ url: `${server.url}/documents`, headers: auth, connections: 1, amount });
  for (const server of servers) await read(server);
  for (let round = 0; round < rounds; round++) {
    const order = builds.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) {
      const result = await read(servers[i]);
      if (result.non2xx + result.errors + result.timeouts > 0) throw new Error(`${builds[i].label}: failed requests`);
      means[i].push(result.latency.average);
    }
  }
  console.log(`node ${process.version}, Redis ${delay} ms away each way, ${rounds} rounds of ${amount} cached reads`);
  for (const [i, { label }] of builds.entries()) {
    const sorted = [...means[i]].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `${label.padEnd(20)} mean latency ${median.toFixed(2)} ms (rounds: ${means[i].map((m) => m.toFixed(2)).join(' ')})`,
    );
  }
} finally {
  for (const server of servers) await server.stop();
  await db.drop();
  proxy.close();
  removeBuilds();
}
