// The yardstick for an uncached read: a plain node:http server doing what an authenticated,
// uncached GET /documents?limit=20 does, and nothing else: verify the access token
// (jsonwebtoken, HS256, a KeyObject secret, as the service), one keyset query with the same
// pg driver, the same 20 rows, the same JSON shape (items and nextCursor).
// Env: PORT, DATABASE_URL, JWT_SECRET.
import { createServer } from 'node:http';
import pg from 'pg';
import { accessClaims, LIST, toPage } from './reference-documents.mjs';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') return answer(res, 200, { status: 'ok' });
  if (req.method !== 'GET' || url.pathname !== '/documents') return answer(res, 404, { status: 404 });
  const claims = accessClaims(req.headers.authorization);
  if (!claims) return answer(res, 401, { status: 401 });
  const limit = Number(url.searchParams.get('limit') ?? 20);
  const { rows } = await pool.query(LIST, [claims.sub, limit + 1]);
  answer(res, 200, toPage(rows, limit));
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
// Exits cleanly (a --cpu-prof profile is written on exit).
process.on('SIGTERM', () => process.exit(0));
