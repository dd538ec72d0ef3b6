// Login latency, and authenticated GET /users/me beside GET /health, at 50
// connections for 10 s each, against the built server.
// Usage: npm run build && [DATABASE_URL=postgres://...] node bench/auth.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, load, row, startServer } from './lib.mjs';

const duration = Number(process.env.BENCH_SECONDS ?? 10);
const dataDir = process.env.DATABASE_URL ? undefined : mkdtempSync(join(tmpdir(), 'ultrai-bench-'));
const server = await startServer({
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : { DATA_DIR: dataDir }),
  ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  RATE_LIMIT_MAX: '10000000',
  AUTH_RATE_LIMIT_MAX: '10000000',
});
try {
  const email = `bench-${Date.now()}@example.com`;
  const password = 'bench password 123';
  await json(`${server.url}/auth/register`, 'POST', { email, password, username: 'bench' });
  const { access_token: token } = await json(`${server.url}/auth/login`, 'POST', { email, password });
  const login = {
    url: `${server.url}/auth/login`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  };

  console.log(
    `ultrai-core auth benchmark: node ${process.version}, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite'}, ${duration} s per figure`,
  );
  console.log(row('POST /auth/login, 1 connection', await load({ ...login, connections: 1, duration })));
  console.log(row('POST /auth/login, 4 connections', await load({ ...login, connections: 4, duration })));
  console.log(row('GET /health, 50 connections', await load({ url: `${server.url}/health`, duration })));
  console.log(
    row(
      'GET /users/me (bearer), 50 connections',
      await load({ url: `${server.url}/users/me`, headers: { authorization: `Bearer ${token}` }, duration }),
    ),
  );
} finally {
  await server.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
