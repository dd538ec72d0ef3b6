import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returningRows } from '../database/returning.js';
import type { StoredObject } from '../storage/document-storage.js';
import type { Scope, Sort } from './dto/document.dto.js';

/** A document row as the API shows it (no text, no bytes). */
export interface DocumentRow {
  id: string;
  ownerId: string;
  title: string;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  tags: string[];
  version: number;
  /** The number of the current content version. */
  contentVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

/** One kept content version of a document, and where its bytes are. */
export interface VersionRow extends StoredObject {
  n: number;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  createdAt: Date;
}

/** The bytes of new content, already written to storage, and what they are. */
export interface NewContent {
  object: StoredObject;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  /** Text to index for search (text types), or null. */
  indexText: string | null;
}

export interface NewDocument {
  ownerId: string;
  title: string;
  tags: string[];
  content: NewContent;
}

export type ListOrder = Sort | 'rank';

/** What a caller may do with a document: as its owner, or as a person it is shared with. */
export type Access = 'owner' | 'editor' | 'viewer';
export type ShareRole = 'viewer' | 'editor';

/** A document as one caller sees it. */
export interface AccessibleRow extends DocumentRow {
  /** The caller's own relation to it: owner, or the role it is shared with; null for an administrator's view. */
  shareRole: Access | null;
}

export interface ListQuery {
  ownerId: string;
  /** owned: `ownerId`'s documents; shared: those shared with them; all: both. */
  scope: Scope;
  limit: number;
  order: ListOrder;
  q?: string;
  tag?: string;
  /** Keyset position: the order's key and the id of the last item seen. */
  after?: { key: string | number; id: string };
}

export class QuotaExceededError extends Error {
  constructor(
    readonly used: number,
    readonly quota: number,
  ) {
    super('quota exceeded');
  }
}

/**
 * Bytes a user's documents take, what counts toward the quota: every kept
 * version of each, and the direct uploads still open (their declared size is
 * reserved until they complete or expire).
 */
const USED_BYTES = `SELECT (
    coalesce((SELECT sum(v.size) FROM document_versions v JOIN documents d ON d.id = v.document_id
               WHERE d.owner_id = $1), 0)
  + coalesce((SELECT sum(u.size) FROM document_uploads u WHERE u.owner_id = $1 AND u.expires_at > now()), 0)
  )::float8 AS used`;

const COLUMNS = `id, owner_id AS "ownerId", title, filename, mime_type AS "mimeType", size::float8 AS size, sha256, tags,
  version, content_version AS "contentVersion", created_at AS "createdAt", updated_at AS "updatedAt"`;

const VERSION_COLUMNS = `n, storage_driver AS driver, storage_key AS key, filename, mime_type AS "mimeType",
  size::float8 AS size, sha256, created_at AS "createdAt"`;

type Manager = { query(sql: string, params?: unknown[]): Promise<any> }; // eslint-disable-line @typescript-eslint/no-explicit-any

const IS_ADMIN = `EXISTS (SELECT 1 FROM users WHERE users.id = $2 AND users.role = 'admin')`;

/** A share of the document (`documents.id`) with user `$n`, in one of `roles` (any role when omitted). */
const sharedWith = (param: string, roles?: ShareRole[]) =>
  `EXISTS (SELECT 1 FROM document_shares s WHERE s.document_id = documents.id AND s.user_id = ${param}` +
  (roles ? ` AND s.role IN (${roles.map((r) => `'${r}'`).join(', ')}))` : ')');

/** `$2` owns or administers the document: may delete it and manage its shares and links. */
const MANAGEABLE = `(owner_id = $2 OR ${IS_ADMIN})`;
/** `$2` may change it: owner, editor, administrator. */
const EDITABLE = `(owner_id = $2 OR ${sharedWith('$2', ['editor'])} OR ${IS_ADMIN})`;
/** `$2` may read it: owner, anyone it is shared with, administrator. */
const READABLE = `(owner_id = $2 OR ${sharedWith('$2')} OR ${IS_ADMIN})`;

/** The caller's (`$n`) own relation to the document: 'owner', a share role, or null. */
const relationOf = (param: string) =>
  `CASE WHEN owner_id = ${param} THEN 'owner'
        ELSE (SELECT s.role FROM document_shares s WHERE s.document_id = documents.id AND s.user_id = ${param}) END`;

/** Scope of a list of `$1`'s documents. */
const SCOPES: Record<Scope, string> = {
  owned: 'owner_id = $1',
  shared: sharedWith('$1'),
  all: `(owner_id = $1 OR ${sharedWith('$1')})`,
};

/**
 * Titles sort naturally and ignoring case (the `title_order` ICU collation, see
 * its migration); the cursor compares with the same expression, so pages follow
 * the order exactly.
 */
const TITLE = 'title COLLATE title_order';

const ORDERS: Record<ListOrder, { by: string; key: string; op: '<' | '>' }> = {
  '-createdAt': { by: 'created_at DESC, id DESC', key: 'created_at', op: '<' },
  createdAt: { by: 'created_at ASC, id ASC', key: 'created_at', op: '>' },
  title: { by: `${TITLE} ASC, id ASC`, key: TITLE, op: '>' },
  '-title': { by: `${TITLE} DESC, id DESC`, key: TITLE, op: '<' },
  rank: { by: 'rank DESC, id DESC', key: 'rank', op: '<' },
};

@Injectable()
export class DocumentsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Stores a document's metadata and its first version (bytes already in
   * storage) in one transaction, after checking the owner's quota with their
   * user row locked, so concurrent uploads by one user (through the API or
   * direct) are counted one after the other and cannot both slip past it.
   * `beforeInsert` runs in the transaction under that lock (e.g. to close a
   * direct upload, whose reservation it replaces).
   */
  async insert(
    doc: NewDocument,
    quotaBytes: number,
    beforeInsert?: (manager: Manager) => Promise<void>,
  ): Promise<DocumentRow> {
    return this.dataSource.transaction(async (manager) => {
      await lockOwner(manager, doc.ownerId);
      if (beforeInsert) await beforeInsert(manager);
      await checkQuota(manager, doc.ownerId, doc.content.size, quotaBytes);
      const c = doc.content;
      const [row] = await manager.query(
        `INSERT INTO documents (owner_id, title, filename, mime_type, size, sha256, tags, text_content)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING ${COLUMNS}`,
        [doc.ownerId, doc.title, c.filename, c.mimeType, c.size, c.sha256, doc.tags, c.indexText],
      );
      await insertVersion(manager, row.id, 1, c);
      return row as DocumentRow;
    });
  }

  /**
   * Makes `content` the document's new current version, when the document is
   * visible to the viewer and (with `expectedVersion`) still at that version;
   * prunes the oldest versions beyond `maxVersions`. The quota counts what is
   * kept afterwards. Returns the document, or null when it is not visible,
   * or 'stale' when it changed.
   */
  async addVersion(
    id: string,
    viewerId: string,
    content: NewContent,
    options: { expectedVersion?: number; quotaBytes: number; maxVersions: number },
  ): Promise<DocumentRow | null | 'stale'> {
    return this.dataSource.transaction(async (manager) => {
      const [found] = await manager.query(`SELECT owner_id AS "ownerId" FROM documents WHERE id = $1 AND ${EDITABLE}`, [
        id,
        viewerId,
      ]);
      if (!found) return null;
      // The owner first, then the document: the order every upload takes its locks in.
      await lockOwner(manager, found.ownerId);
      const [doc] = await manager.query(
        'SELECT version, content_version AS "contentVersion" FROM documents WHERE id = $1 FOR UPDATE',
        [id],
      );
      if (!doc) return null;
      if (options.expectedVersion !== undefined && doc.version !== options.expectedVersion) return 'stale';
      const kept: Array<{ n: number; size: number }> = await manager.query(
        'SELECT n, size::float8 AS size FROM document_versions WHERE document_id = $1 ORDER BY n DESC',
        [id],
      );
      const pruned = kept.slice(Math.max(0, options.maxVersions - 1));
      const freed = pruned.reduce((sum, v) => sum + v.size, 0);
      await checkQuota(manager, found.ownerId, content.size - freed, options.quotaBytes);
      if (pruned.length > 0) {
        await manager.query('DELETE FROM document_versions WHERE document_id = $1 AND n = ANY($2::int[])', [
          id,
          pruned.map((v) => v.n),
        ]);
      }
      const n = (kept[0]?.n ?? 0) + 1;
      await insertVersion(manager, id, n, content);
      const rows = await manager.query(
        `UPDATE documents SET content_version = $2, filename = $3, mime_type = $4, size = $5, sha256 = $6,
                text_content = $7, version = version + 1, updated_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, n, content.filename, content.mimeType, content.size, content.sha256, content.indexText],
      );
      return returningRows<DocumentRow>(rows)[0];
    });
  }

  /** The document's current version: where its bytes are. */
  async currentVersion(documentId: string): Promise<VersionRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${VERSION_COLUMNS} FROM document_versions
        WHERE document_id = $1 AND n = (SELECT content_version FROM documents WHERE id = $1)`,
      [documentId],
    );
    return rows[0] ?? null;
  }

  async versions(documentId: string): Promise<VersionRow[]> {
    return this.dataSource.query(
      `SELECT ${VERSION_COLUMNS} FROM document_versions WHERE document_id = $1 ORDER BY n DESC`,
      [documentId],
    );
  }

  async version(documentId: string, n: number): Promise<VersionRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${VERSION_COLUMNS} FROM document_versions WHERE document_id = $1 AND n = $2`,
      [documentId, n],
    );
    return rows[0] ?? null;
  }

  async usedBytesIn(manager: Manager, ownerId: string): Promise<number> {
    const [{ used }] = await manager.query(USED_BYTES, [ownerId]);
    return used;
  }

  async usedBytes(ownerId: string): Promise<number> {
    const [{ used }] = await this.dataSource.query(USED_BYTES, [ownerId]);
    return used;
  }

  /** The document when the viewer may read it, with the viewer's relation to it. */
  async findVisible(id: string, viewerId: string): Promise<AccessibleRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS}, ${relationOf('$2')} AS "shareRole" FROM documents WHERE id = $1 AND ${READABLE}`,
      [id, viewerId],
    );
    return rows[0] ?? null;
  }

  /** The document, whoever asks (for a share link, checked by its caller). */
  async find(id: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(`SELECT ${COLUMNS} FROM documents WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** Every share of the owner's documents: who else sees them. */
  async sharesOfOwner(ownerId: string): Promise<Array<{ documentId: string; userId: string }>> {
    return this.dataSource.query(
      `SELECT s.document_id AS "documentId", s.user_id AS "userId"
         FROM document_shares s JOIN documents d ON d.id = s.document_id WHERE d.owner_id = $1`,
      [ownerId],
    );
  }

  /** The owner and everyone the document is shared with: whose cached answers show it. */
  async readers(id: string): Promise<string[]> {
    const rows: Array<{ userId: string }> = await this.dataSource.query(
      `SELECT owner_id AS "userId" FROM documents WHERE id = $1
       UNION SELECT user_id FROM document_shares WHERE document_id = $1`,
      [id],
    );
    return rows.map((row) => row.userId);
  }

  /**
   * Changes title and/or tags when the viewer may edit the document (owner,
   * editor, administrator) and, if `expectedVersion` is given, it is still at that version.
   */
  async update(
    id: string,
    viewerId: string,
    changes: { title?: string; tags?: string[] },
    expectedVersion?: number,
  ): Promise<AccessibleRow | null> {
    const rows = await this.dataSource.query(
      `UPDATE documents SET title = coalesce($3, title), tags = coalesce($4, tags), version = version + 1, updated_at = now()
        WHERE id = $1 AND ${EDITABLE} AND ($5::integer IS NULL OR version = $5::integer)
        RETURNING ${COLUMNS}, ${relationOf('$2')} AS "shareRole"`,
      [id, viewerId, changes.title ?? null, changes.tags ?? null, expectedVersion ?? null],
    );
    return returningRows<AccessibleRow>(rows)[0] ?? null;
  }

  /**
   * Deletes when the viewer owns or administers it (its shares and links go with it);
   * returns who could read it (owner first, then the people it was shared with), or
   * null when nothing was deleted. The versions' bytes go with the rows (see the
   * storage migration's trigger): postgres chunks at once, other objects through
   * `storage_deletions`.
   */
  async delete(id: string, viewerId: string): Promise<string[] | null> {
    // One snapshot for both parts: the shares as they were before the cascade.
    const result = await this.dataSource.query(
      `WITH shared AS (SELECT user_id FROM document_shares WHERE document_id = $1),
            deleted AS (DELETE FROM documents WHERE id = $1 AND ${MANAGEABLE} RETURNING owner_id)
       SELECT deleted.owner_id AS "ownerId", array(SELECT user_id::text FROM shared) AS "sharedWith" FROM deleted`,
      [id, viewerId],
    );
    const row = returningRows<{ ownerId: string; sharedWith: string[] }>(result)[0];
    return row ? [row.ownerId, ...row.sharedWith] : null;
  }

  async isAdmin(userId: string): Promise<boolean> {
    const rows = await this.dataSource.query(`SELECT 1 FROM users WHERE id = $1 AND role = 'admin'`, [userId]);
    return rows.length > 0;
  }

  /** One page (plus one row, to know if there is more) of a user's documents. */
  async list(query: ListQuery): Promise<Array<AccessibleRow & { rank?: number }>> {
    const params: unknown[] = [query.ownerId];
    const where = [SCOPES[query.scope]];
    let rank = '';
    let tsquery = '';
    if (query.q !== undefined) {
      params.push(query.q);
      tsquery = `websearch_to_tsquery('english', $${params.length})`;
      where.push(`search @@ ${tsquery}`);
      rank = `, ts_rank(search, ${tsquery})::real AS rank`;
    }
    if (query.tag !== undefined) {
      params.push([query.tag]);
      where.push(`tags @> $${params.length}::text[]`);
    }
    const order = ORDERS[query.order];
    if (query.after) {
      params.push(query.after.key, query.after.id);
      const key = query.order === 'rank' ? `ts_rank(search, ${tsquery})::real` : order.key;
      const cast = query.order === 'rank' ? '::real' : order.key === 'created_at' ? '::timestamptz' : '::text';
      where.push(`(${key}, id) ${order.op} ($${params.length - 1}${cast}, $${params.length}::uuid)`);
    }
    params.push(query.limit + 1);
    return this.dataSource.query(
      `SELECT ${COLUMNS}, ${relationOf('$1')} AS "shareRole"${rank} FROM documents WHERE ${where.join(' AND ')} ORDER BY ${order.by} LIMIT $${params.length}`,
      params,
    );
  }
}

async function lockOwner(manager: Manager, ownerId: string): Promise<void> {
  await manager.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [ownerId]);
}

async function checkQuota(manager: Manager, ownerId: string, adding: number, quotaBytes: number): Promise<void> {
  const [{ used }] = await manager.query(USED_BYTES, [ownerId]);
  if (used + adding > quotaBytes) throw new QuotaExceededError(used, quotaBytes);
}

async function insertVersion(manager: Manager, documentId: string, n: number, c: NewContent): Promise<void> {
  await manager.query(
    `INSERT INTO document_versions (document_id, n, storage_driver, storage_key, filename, mime_type, size, sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [documentId, n, c.object.driver, c.object.key, c.filename, c.mimeType, c.size, c.sha256],
  );
}
