import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isUuid } from '../common/ids.js';
import { returningRows } from '../database/returning.js';
import type { Sort, TextStatus } from './dto/document.dto.js';

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
  createdAt: Date;
  updatedAt: Date;
  /** Set while the document is in the trash. */
  deletedAt: Date | null;
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
  /** A PDF: its text is extracted later, by a job queued with the row. */
  isPdf: boolean;
  data: Buffer;
}

export type ListOrder = Sort | 'rank' | '-deletedAt';

export interface ListQuery {
  ownerId: string;
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

/** Bytes a user's documents take, those in the trash included: what counts toward the quota. */
const USED_BYTES = 'SELECT coalesce(sum(size), 0)::float8 AS used FROM documents WHERE owner_id = $1';

const COLUMNS = `id, owner_id AS "ownerId", title, filename, mime_type AS "mimeType", size, sha256, tags, version,
  text_status AS "textStatus", created_at AS "createdAt", updated_at AS "updatedAt", deleted_at AS "deletedAt"`;

const LIVE = 'deleted_at IS NULL';
const TRASHED = 'deleted_at IS NOT NULL';

/** `$viewer` may see a document when it is theirs or when they are an administrator. */
const VISIBLE = `(owner_id = $2 OR EXISTS (SELECT 1 FROM users WHERE users.id = $2 AND users.role = 'admin'))`;

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
           INSERT INTO documents (owner_id, title, filename, mime_type, size, sha256, tags, text_content, text_status)
           VALUES ($1, $2, $3, $4, $5, $6, $7,
                   CASE WHEN $8::boolean THEN regexp_replace(convert_from($9::bytea, 'UTF8'), '^\uFEFF', '') END,
                   CASE WHEN $8::boolean THEN 'indexed' WHEN $10::boolean THEN 'pending' ELSE 'none' END)
           RETURNING ${COLUMNS}
         ), content AS (
           INSERT INTO document_contents (document_id, data) SELECT id, $9::bytea FROM inserted
         ), job AS (
           INSERT INTO pdf_text_jobs (document_id) SELECT id FROM inserted WHERE $10::boolean
         )
         SELECT * FROM inserted`,
        [
          doc.ownerId,
          doc.title,
          doc.filename,
          doc.mimeType,
          doc.size,
          doc.sha256,
          doc.tags,
          doc.isText,
          doc.data,
          doc.isPdf,
        ],
      );
      return row as DocumentRow;
    });
  }

  async usedBytes(ownerId: string): Promise<number> {
    const [{ used }] = await this.dataSource.query(USED_BYTES, [ownerId]);
    return used;
  }

  async findVisible(id: string, viewerId: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM documents WHERE id = $1 AND ${VISIBLE} AND ${LIVE}`,
      [id, viewerId],
    );
    return rows[0] ?? null;
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
   * Changes title and/or tags when the document is visible to the viewer
   * and, if `expectedVersion` is given, still at that version.
   */
  async update(
    id: string,
    viewerId: string,
    changes: { title?: string; tags?: string[] },
    expectedVersion?: number,
  ): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(
      `UPDATE documents SET title = coalesce($3, title), tags = coalesce($4, tags), version = version + 1, updated_at = now()
        WHERE id = $1 AND ${VISIBLE} AND ${LIVE} AND ($5::integer IS NULL OR version = $5::integer)
        RETURNING ${COLUMNS}`,
      [id, viewerId, changes.title ?? null, changes.tags ?? null, expectedVersion ?? null],
    );
    return returningRows<DocumentRow>(rows)[0] ?? null;
  }

  /** Moves a live document visible to the viewer to the trash; returns it, or null when nothing moved. */
  async trash(id: string, viewerId: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(
      `UPDATE documents SET deleted_at = now() WHERE id = $1 AND ${VISIBLE} AND ${LIVE} RETURNING ${COLUMNS}`,
      [id, viewerId],
    );
    return returningRows<DocumentRow>(rows)[0] ?? null;
  }

  /** Takes a document visible to the viewer out of the trash; returns it, or null when it was not there. */
  async restore(id: string, viewerId: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(
      `UPDATE documents SET deleted_at = NULL WHERE id = $1 AND ${VISIBLE} AND ${TRASHED} RETURNING ${COLUMNS}`,
      [id, viewerId],
    );
    return returningRows<DocumentRow>(rows)[0] ?? null;
  }

  /** Deletes for good (in the trash or not) when visible to the viewer; returns it, or null when nothing was deleted. */
  async delete(id: string, viewerId: string): Promise<DocumentRow | null> {
    const rows = await this.dataSource.query(
      `DELETE FROM documents WHERE id = $1 AND ${VISIBLE} RETURNING ${COLUMNS}`,
      [id, viewerId],
    );
    return returningRows<DocumentRow>(rows)[0] ?? null;
  }

  /** Deletes everything in a user's trash; returns how many documents went. */
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
  async list(query: ListQuery): Promise<Array<DocumentRow & { rank?: number }>> {
    const params: unknown[] = [query.ownerId];
    const where = ['owner_id = $1', query.trashed ? TRASHED : LIVE];
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
      `SELECT ${COLUMNS}${rank} FROM documents WHERE ${where.join(' AND ')} ORDER BY ${order.by} LIMIT $${params.length}`,
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

/** Arbitrary, fixed: names the trash purge among this database's advisory locks. */
const TRASH_PURGE_LOCK = 7_140_002;
