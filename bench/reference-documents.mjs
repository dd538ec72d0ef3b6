// What both yardsticks of the uncached read share (bench/reference-documents-server.mjs,
// bench/reference-nest-server.mjs): the token check, the service's keyset query and its page
// of DocumentDtos.
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';

const key = createSecretKey(Buffer.from(process.env.JWT_SECRET, 'utf8'));

/** The claims of a valid access token in an `Authorization: Bearer` header (HS256, the KeyObject), else undefined. */
export function accessClaims(authorization) {
  try {
    const claims = jwt.verify(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '', key, { algorithms: ['HS256'] });
    return claims.typ === 'access' ? claims : undefined;
  } catch {
    return undefined;
  }
}

export const LIST = `SELECT id, owner_id AS "ownerId", title, filename, mime_type AS "mimeType", size::float8 AS size, sha256,
  tags, version, text_status AS "textStatus", created_at AS "createdAt", updated_at AS "updatedAt"
  FROM documents WHERE owner_id = $1 AND deleted_at IS NULL
  ORDER BY created_at DESC, id DESC LIMIT $2`;

/** The service's page of DocumentDtos, key for key, from `limit + 1` rows. */
export function toPage(rows, limit) {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
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
  return { items, nextCursor };
}
