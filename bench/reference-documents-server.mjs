// The yardstick for an uncached read: a plain node:http server doing what an authenticated,
// uncached GET /documents?limit=20 does, and nothing else: verify the access token
// (jsonwebtoken, HS256, a KeyObject secret, as the service), one keyset query with the same
// pg driver, the same 20 rows, the same JSON shape (items and nextCursor).
// Env: PORT, DATABASE_URL, JWT_SECRET.
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const key = createSecretKey(Buffer.from(process.env.JWT_SECRET, 'utf8'));
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const LIST = `SELECT id, owner_id AS "ownerId", title, filename, mime_type AS "mimeType", size::float8 AS size, sha256,
  tags, version, text_status AS "textStatus", created_at AS "createdAt", updated_at AS "updatedAt"
  FROM documents WHERE owner_id = $1 AND deleted_at IS NULL
  ORDER BY created_at DESC, id DESC LIMIT $2`;

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
  let claims;
  try {
    claims = jwt.verify(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '', key, {
      algorithms: ['HS256'],
    });
  } catch {
    return answer(res, 401, { status: 401 });
  }
  if (claims.typ !== 'access') return answer(res, 401, { status: 401 });
  const limit = Number(url.searchParams.get('limit') ?? 20);
  const { rows } = await pool.query(LIST, [claims.sub, limit + 1]);
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  // The service's DocumentDto, key for key.
  const items = page.map((r) => ({
    id: r.id,
    ownerId: r.ownerId,
    title: r.title,
    filename: r.filename,
    mimeType: r.mimeType,
    size: r.size,
    sha256: r.sha256,
    tags: r.tags,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    version: r.version,
    textStatus: r.textStatus,
    access: 'owner',
  }));
  const last = page.at(-1);
  const nextCursor = more
    ? Buffer.from(JSON.stringify(['-createdAt', last.createdAt.toISOString(), last.id])).toString('base64url')
    : null;
  answer(res, 200, { items, nextCursor });
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
// Exits cleanly (a --cpu-prof profile is written on exit).
process.on('SIGTERM', () => process.exit(0));
