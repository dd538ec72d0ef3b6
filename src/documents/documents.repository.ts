import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isUuid } from '../common/ids.js';
import { returningRows } from '../database/returning.js';
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
  createdAt: Date;
  updatedAt: Date;
}

export interface NewDocument {
  ownerId: string;
  title: string;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string;
  tags: string[];
  /** UTF-8 text to index for search (PostgreSQL decodes it from `data`). */
  isText: boolean;
  data: Buffer;
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

/** Bytes a user's live documents take: what counts toward the quota. */
const USED_BYTES = 'SELECT coalesce(sum(size), 0)::float8 AS used FROM documents WHERE owner_id = $1';

const COLUMNS = `id, owner_id AS "ownerId", title, filename, mime_type AS "mimeType", size, sha256, tags, version,
  created_at AS "createdAt", updated_at AS "updatedAt"`;

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
   * Stores metadata and bytes in one transaction, after checking the owner's
   * quota with their user row locked, so concurrent uploads by one user are
   * counted one after the other and cannot both slip past the quota.
   */
  async insert(doc: NewDocument, quotaBytes: number): Promise<DocumentRow> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [doc.ownerId]);
      const [{ used }] = await manager.query(USED_BYTES, [doc.ownerId]);
      if (used + doc.size > quotaBytes) throw new QuotaExceededError(used, quotaBytes);
      // One statement, so the bytes cross the wire once; the text for search
      // is decoded from them by PostgreSQL (without a leading BOM).
      const [row] = await manager.query(
        `WITH inserted AS (
           INSERT INTO documents (owner_id, title, filename, mime_type, size, sha256, tags, text_content)
           VALUES ($1, $2, $3, $4, $5, $6, $7,
                   CASE WHEN $8::boolean THEN regexp_replace(convert_from($9::bytea, 'UTF8'), '^\uFEFF', '') END)
           RETURNING ${COLUMNS}
         ), content AS (
           INSERT INTO document_contents (document_id, data) SELECT id, $9::bytea FROM inserted
         )
         SELECT * FROM inserted`,
        [doc.ownerId, doc.title, doc.filename, doc.mimeType, doc.size, doc.sha256, doc.tags, doc.isText, doc.data],
      );
      return row as DocumentRow;
    });
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
   * The bytes, read with `COPY ... (FORMAT binary)`: a plain SELECT makes pg
   * receive a bytea as hex text and hold it as a string twice the file's size
   * in the V8 heap (and pg's `binary: true` decodes it as UTF-8, corrupting
   * it), while COPY data arrives as raw bytes. Works the same on PGlite.
   */
  async content(id: string): Promise<Buffer | null> {
    // COPY takes no parameters: the id is a UUID checked here, so it is safe as a literal.
    if (!isUuid(id)) return null;
    const runner = this.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as { query(submittable: CopyOut): void };
      const copy = new CopyOut(
        `COPY (SELECT data FROM document_contents WHERE document_id = '${id}') TO STDOUT (FORMAT binary)`,
      );
      client.query(copy);
      return parseSingleBytea(await copy.result);
    } finally {
      await runner.release();
    }
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
   * null when nothing was deleted.
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

/**
 * A COPY TO STDOUT run on a pg client (a "submittable": pg hands it the
 * connection and the protocol messages), collecting the raw CopyData chunks.
 */
class CopyOut {
  readonly result: Promise<Buffer[]>;
  private readonly chunks: Buffer[] = [];
  private settle!: { resolve: (chunks: Buffer[]) => void; reject: (error: unknown) => void };

  constructor(private readonly text: string) {
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    this.chunks.push(message.chunk);
  }

  handleReadyForQuery(): void {
    this.settle.resolve(this.chunks);
  }

  /** pg calls this instead of handleReadyForQuery on an error (also a lost connection). */
  handleError(error: unknown): void {
    this.settle.reject(error);
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
}

/** PostgreSQL's binary COPY header: signature, flags, header-extension length. */
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The one bytea field of a binary COPY of at most one row, or null for none.
 * The chunks are joined into a buffer of their exact size first, so what stays
 * alive is the file, not pg's larger receive buffer the chunks are slices of.
 */
function parseSingleBytea(chunks: Buffer[]): Buffer | null {
  const all = Buffer.concat(chunks);
  if (all.length < 21 || !all.subarray(0, 11).equals(COPY_SIGNATURE)) throw new Error('unexpected COPY output');
  const start = 19 + all.readUInt32BE(15);
  const fields = all.readInt16BE(start);
  if (fields === -1) return null; // the trailer: no row
  const length = all.readInt32BE(start + 2);
  if (fields !== 1 || length < 0) throw new Error('unexpected COPY output');
  return all.subarray(start + 6, start + 6 + length);
}
