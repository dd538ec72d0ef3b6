// Memory per open event stream: 1,000 GET /events streams on one instance (200 users
// x 5, the per-user limit), RSS settled before and after; every stream must be live
// (each receives its heartbeat comment). Real PostgreSQL when DATABASE_URL is set,
// else the embedded database; Redis when REDIS_URL is set.
// Usage: npm run build && [DATABASE_URL=postgres://...] [REDIS_URL=redis://...] node bench/events.mjs [streams]
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, json, settledRssMiB, startServer } from './lib.mjs';

const STREAMS = Number(process.argv[2] ?? 1000);
const PER_USER = 5;
const users = Math.ceil(STREAMS / PER_USER);

const database = process.env.DATABASE_URL ? await freshDatabase(process.env.DATABASE_URL) : undefined;
const dataDir = database ? undefined : mkdtempSync(join(tmpdir(), 'ultrai-bench-events-'));
const server = await startServer({
  ...(database ? { DATABASE_URL: database.url } : { NODE_ENV: 'development', DATA_DIR: dataDir }),
  ...(process.env.REDIS_URL
    ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: `bench-events-${Date.now()}:` }
    : {}),
  RATE_LIMIT_MAX: '10000000',
  AUTH_RATE_LIMIT_MAX: '10000000',
  ACCOUNT_RATE_LIMIT_MAX: '10000000',
  EVENTS_HEARTBEAT_MS: '2000',
  EVENTS_MAX_STREAMS_PER_USER: String(PER_USER),
});
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
const open = [];
try {
  const tokens = [];
  for (let i = 0; i < users; i++) {
    const email = `stream${i}.${Date.now()}@example.com`;
    const password = 'a long enough password';
    await json(`${server.url}/auth/register`, 'POST', { email, password, username: `stream_${i}_${Date.now() % 1e6}` });
    tokens.push((await json(`${server.url}/auth/login`, 'POST', { email, password })).access_token);
  }
  // A little traffic first, so what is measured is the streams and not first-use warm-up.
  for (const token of tokens.slice(0, 20))
    await json(`${server.url}/users/me`, 'GET', undefined, { authorization: `Bearer ${token}` });
  const before = await settledRssMiB(server.pid);

  const { port } = new URL(server.url);
  for (let i = 0; i < STREAMS; i++) {
    const token = tokens[Math.floor(i / PER_USER)];
    open.push(
      await new Promise((resolve, reject) => {
        const req = request({
          host: '127.0.0.1',
          port,
          path: '/events',
          agent,
          headers: { authorization: `Bearer ${token}` },
        });
        req.on('error', reject);
        req.on('response', (res) => {
          if (res.statusCode !== 200) reject(new Error(`stream ${i}: ${res.statusCode}`));
          const stream = { req, comments: 0 };
          res.on('data', (chunk) => (stream.comments += (String(chunk).match(/^:/gm) ?? []).length));
          resolve(stream);
        });
        req.end();
      }),
    );
  }
  const after = await settledRssMiB(server.pid);
  const live = open.filter((s) => s.comments > 0).length;
  console.log(
    `${STREAMS} open event streams (${users} users x ${PER_USER}), ${database ? 'PostgreSQL' : 'embedded'}${process.env.REDIS_URL ? ' + Redis' : ''}: ` +
      `RSS ${before.toFixed(1)} MiB before, ${after.toFixed(1)} MiB with them open; ` +
      `${(((after - before) * 1024) / STREAMS).toFixed(1)} KiB per stream; ${live}/${STREAMS} received heartbeats`,
  );
} finally {
  for (const stream of open) stream.req.destroy();
  await server.stop();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
