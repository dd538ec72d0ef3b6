import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returningRows } from '../database/returning.js';
import type { StoredObject } from '../storage/document-storage.js';
import type { Scope, Sort, TextStatus } from './dto/document.dto.js';

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
  textStatus: TextStatus;
  /** The number of the current content version. */
  contentVersion: number;
  createdAt: Date;
  updatedAt: Date;
  /** Set while the document is in the trash. */
  deletedAt: Date | null;
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

export type ListOrder = Sort | 'rank' | '-deletedAt';

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
  /** The trash instead of the live documents. */
  trashed?: boolean;
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
  version, content_version AS "contentVersion", text_status AS "textStatus", created_at AS "createdAt",
  updated_at AS "updatedAt", deleted_at AS "deletedAt"`;

/** Live documents; the trash is the others. Trashed rows stay, so the quota keeps counting them. */
const LIVE = 'deleted_at IS NULL';
const TRASHED = 'deleted_at IS NOT NULL';

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
  '-deletedAt': { by: 'deleted_at DESC, id DESC', key: 'deleted_at', op: '<' },
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
        `INSERT INTO documents (owner_id, title, filename, mime_type, size, sha256, tags, text_content, text_status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING ${COLUMNS}`,
        [doc.ownerId, doc.title, c.filename, c.mimeType, c.size, c.sha256, doc.tags, c.indexText, textStatusOf(c)],
      );
      await insertVersion(manager, row.id, 1, c);
      if (row.textStatus === 'pending') await queuePdfText(manager, row.id);
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
      const [found] = await manager.query(
        `SELECT owner_id AS "ownerId" FROM documents WHERE id = $1 AND ${EDITABLE} AND ${LIVE}`,
        [id, viewerId],
      );
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
                text_content = $7, text_status = $8, version = version + 1, updated_at = now()
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [
          id,
          n,
          content.filename,
          content.mimeType,
          content.size,
          content.sha256,
          content.indexText,
          textStatusOf(content),
        ],
      );
      const row = returningRows<DocumentRow>(rows)[0];
      // A new PDF version is extracted again; any other content needs no job.
      if (row.textStatus === 'pending') await queuePdfText(manager, id);
      else await manager.query('DELETE FROM pdf_text_jobs WHERE document_id = $1', [id]);
      return row;
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
      `SELECT ${COLUMNS}, ${relationOf('$2')} AS "shareRole" FROM documents WHERE id = $1 AND ${READABLE} AND ${LIVE}`,
      [id, viewerId],
    );
    return rows[0] ?? null;
  }

  /** The live document, whoever asks (for a share link, checked by its caller): none while in the trash. */
  async find(id: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(`SELECT ${COLUMNS} FROM documents WHERE id = $1 AND ${LIVE}`, [id]);
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
        WHERE id = $1 AND ${EDITABLE} AND ${LIVE} AND ($5::integer IS NULL OR version = $5::integer)
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

  /**
   * Moves a live document the viewer owns or administers to the trash, and deletes
   * its share links (a trashed document's links are gone for good, not back with a
   * restore). Returns it with who could read it (owner first, then the people it is
   * shared with), or null when nothing moved.
   */
  async trash(id: string, viewerId: string): Promise<{ row: DocumentRow; readers: string[] } | null> {
    const result = await this.dataSource.query(
      `WITH trashed AS (UPDATE documents SET deleted_at = now() WHERE id = $1 AND ${MANAGEABLE} AND ${LIVE}
                        RETURNING ${COLUMNS}),
            links AS (DELETE FROM document_links WHERE document_id IN (SELECT id FROM trashed))
       SELECT trashed.*, array(SELECT user_id::text FROM document_shares WHERE document_id = $1) AS "sharedWith"
         FROM trashed`,
      [id, viewerId],
    );
    const found = returningRows<DocumentRow & { sharedWith: string[] }>(result)[0];
    if (!found) return null;
    const { sharedWith, ...row } = found;
    return { row, readers: [row.ownerId, ...sharedWith] };
  }

  /** Takes a document the viewer owns or administers out of the trash; returns it, or null when it was not there. */
  async restore(id: string, viewerId: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(
      `UPDATE documents SET deleted_at = NULL WHERE id = $1 AND ${MANAGEABLE} AND ${TRASHED} RETURNING ${COLUMNS}`,
      [id, viewerId],
    );
    return returningRows<DocumentRow>(rows)[0] ?? null;
  }

  /** A document in the trash the viewer owns or administers (for a permanent delete's checks). */
  async findTrashed(id: string, viewerId: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM documents WHERE id = $1 AND ${MANAGEABLE} AND ${TRASHED}`,
      [id, viewerId],
    );
    return rows[0] ?? null;
  }

  /** Deletes everything in a user's trash (bytes released by the versions' trigger); returns how many went. */
  async emptyTrash(ownerId: string): Promise<number> {
    const rows = await this.dataSource.query(`DELETE FROM documents WHERE owner_id = $1 AND ${TRASHED} RETURNING id`, [
      ownerId,
    ]);
    return returningRows(rows).length;
  }

  /**
   * Deletes documents trashed more than `retentionDays` ago, on one instance at
   * a time (the transaction-scoped advisory lock is skipped by the others, not
   * waited for). Returns the owners of what was purged, or undefined when
   * another instance holds the lock.
   */
  async purgeTrash(retentionDays: number): Promise<Array<{ ownerId: string; count: number }> | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [{ locked }] = await manager.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [TRASH_PURGE_LOCK]);
      if (!locked) return undefined;
      const rows = returningRows<{ ownerId: string }>(
        await manager.query(
          `DELETE FROM documents WHERE ${TRASHED} AND deleted_at <= now() - make_interval(days => $1)
           RETURNING owner_id AS "ownerId"`,
          [retentionDays],
        ),
      );
      const counts = new Map<string, number>();
      for (const { ownerId } of rows) counts.set(ownerId, (counts.get(ownerId) ?? 0) + 1);
      return [...counts].map(([ownerId, count]) => ({ ownerId, count }));
    });
  }

  async isAdmin(userId: string): Promise<boolean> {
    const rows = await this.dataSource.query(`SELECT 1 FROM users WHERE id = $1 AND role = 'admin'`, [userId]);
    return rows.length > 0;
  }

  /** One page (plus one row, to know if there is more) of a user's documents. */
  async list(query: ListQuery): Promise<Array<AccessibleRow & { rank?: number }>> {
    const params: unknown[] = [query.ownerId];
    const where = [query.trashed ? 'owner_id = $1' : SCOPES[query.scope], query.trashed ? TRASHED : LIVE];
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
      const cast = query.order === 'rank' ? '::real' : order.key.endsWith('_at') ? '::timestamptz' : '::text';
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

/** Arbitrary, fixed: names the trash purge among this database's advisory locks. */
const TRASH_PURGE_LOCK = 7_140_002;

/** Where a new content's text stands: text is indexed with the row, a PDF's is extracted later by a job. */
function textStatusOf(content: NewContent): TextStatus {
  if (content.indexText !== null) return 'indexed';
  return content.mimeType === 'application/pdf' ? 'pending' : 'none';
}

/** Queues (or re-queues, for a new version) the extraction of a document's PDF text. */
async function queuePdfText(manager: Manager, documentId: string): Promise<void> {
  await manager.query(
    `INSERT INTO pdf_text_jobs (document_id) VALUES ($1)
     ON CONFLICT (document_id) DO UPDATE SET attempts = 0, next_attempt_at = now()`,
    [documentId],
  );
}
