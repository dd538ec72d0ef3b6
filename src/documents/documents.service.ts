import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.js';
import type { Principal } from '../common/principal.js';
import { ForbiddenError } from '../common/errors.js';
import { decodeCursor, isCursorText, isIsoDate, isRank, toPage } from '../common/pagination.js';
import { isUuid } from '../common/ids.js';
import { AppError, NotFoundError, ValidationFailedError } from '../common/problem.js';
import { CacheGenerations } from '../cache/cache-generations.js';
import { AppConfig } from '../config/config.js';
import { detectContentType } from './content-type.js';
import { DocumentsRepository, type DocumentRow, type ListOrder, QuotaExceededError } from './documents.repository.js';
import type {
  DocumentDto,
  DocumentListQueryDto,
  TrashedDocumentDto,
  TrashListQueryDto,
  UpdateDocumentDto,
} from './dto/document.dto.js';
import { type ReleaseSlot, DownloadSlots } from './download-slots.js';
import { sanitizeFilename } from './filename.js';
import { PayloadTooLargeError } from '../common/errors.js';
import { PdfTextIndexer } from '../pdf-text/pdf-text-indexer.js';

/** What an upload brings, however it arrived (multipart or JSON). */
export interface IncomingDocument {
  title?: string;
  tags?: string[];
  filename: string;
  declaredType: string;
  data: Buffer;
  sha256: string;
}

export interface DocumentContent {
  document: DocumentDto;
  /** Absent when the caller's ETag matched: nothing to send. */
  data?: Buffer;
  /** With `data`: the caller's download slot, to release once the response is over. */
  release?: ReleaseSlot;
}

export function toDocumentDto(row: DocumentRow): DocumentDto {
  return {
    id: row.id,
    ownerId: row.ownerId,
    title: row.title,
    filename: row.filename,
    mimeType: row.mimeType,
    size: row.size,
    sha256: row.sha256,
    tags: row.tags,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    version: row.version,
    textStatus: row.textStatus,
  };
}

const DAY_MS = 86_400_000;

export function toTrashedDocumentDto(row: DocumentRow, retentionDays: number): TrashedDocumentDto {
  const deletedAt = row.deletedAt!;
  return {
    ...toDocumentDto(row),
    deletedAt,
    purgeAt: new Date(deletedAt.getTime() + retentionDays * DAY_MS),
  };
}

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const NOT_FOUND = 'No such document.';
const TRASH_ORDER = '-deletedAt';
/** Room for the multipart boundaries, part headers, title and tags around the file. */
const MULTIPART_OVERHEAD_BYTES = 256 * 1024;

@Injectable()
export class DocumentsService {
  constructor(
    private readonly documents: DocumentsRepository,
    private readonly config: AppConfig,
    private readonly cache: CacheGenerations,
    private readonly slots: DownloadSlots,
    private readonly audit: AuditLog,
    private readonly pdfText: PdfTextIndexer,
  ) {}

  /**
   * Refuses before the body is read what cannot be stored anyway: a declared
   * length far over the file limit (the form's other fields are small), or
   * an owner whose quota is already full. The exact checks come later.
   */
  async checkBeforeReading(principal: Principal, contentLength: number): Promise<void> {
    if (contentLength > this.config.uploadMaxBytes + MULTIPART_OVERHEAD_BYTES) {
      throw new PayloadTooLargeError(`The file is larger than the ${this.config.uploadMaxBytes}-byte limit.`);
    }
    const used = await this.documents.usedBytes(principal.userId);
    if (used >= this.config.userQuotaBytes) throw this.quotaError(used);
  }

  async create(principal: Principal, incoming: IncomingDocument): Promise<DocumentDto> {
    if (incoming.data.length > this.config.uploadMaxBytes) {
      throw new PayloadTooLargeError(`The file is larger than the ${this.config.uploadMaxBytes}-byte limit.`);
    }
    const detected = detectContentType(incoming.data, incoming.declaredType, incoming.filename);
    if (!detected.ok) throw new AppError(415, 'unsupported-media-type', `Not accepted: ${detected.reason}.`);
    const filename = sanitizeFilename(incoming.filename, detected.type);
    const title = incoming.title ?? filename.replace(/\.[^.]+$/, '').slice(0, 200);
    try {
      const created = toDocumentDto(
        await this.documents.insert(
          {
            ownerId: principal.userId,
            title: title === '' ? filename.slice(0, 200) : title,
            filename,
            mimeType: detected.type,
            size: incoming.data.length,
            sha256: incoming.sha256,
            tags: incoming.tags ?? [],
            isText: detected.text,
            isPdf: detected.type === 'application/pdf',
            data: incoming.data,
          },
          this.config.userQuotaBytes,
        ),
      );
      await this.cache.bump(principal.userId);
      if (created.textStatus === 'pending') this.pdfText.wake();
      return created;
    } catch (error) {
      if (error instanceof QuotaExceededError) throw this.quotaError(error.used);
      throw error;
    }
  }

  async list(
    principal: Principal,
    query: DocumentListQueryDto,
  ): Promise<{ items: DocumentDto[]; nextCursor: string | null }> {
    const ownerId = await this.listedOwner(principal, query.owner);
    const order: ListOrder = query.sort ?? (query.q !== undefined ? 'rank' : '-createdAt');
    let after: { key: string | number; id: string } | undefined;
    if (query.cursor) {
      const isKey = order === 'rank' ? isRank : order.endsWith('createdAt') ? isIsoDate : isCursorText;
      const [cursorOrder, key, id] = decodeCursor(query.cursor, [(v) => v === order, isKey, isUuid]);
      if (cursorOrder !== order)
        throw new ValidationFailedError([{ field: 'cursor', message: 'cursor is from another sort' }]);
      after = { key: key as string | number, id: id as string };
    }
    const rows = await this.documents.list({ ownerId, limit: query.limit, order, q: query.q, tag: query.tag, after });
    return toPage(rows, query.limit, toDocumentDto, (row) => [
      order,
      order === 'rank' ? row.rank! : order.endsWith('createdAt') ? row.createdAt.toISOString() : row.title,
      row.id,
    ]);
  }

  async get(principal: Principal, id: string): Promise<DocumentDto> {
    return toDocumentDto(await this.visible(principal, id));
  }

  /** The bytes, unless `ifNoneMatch` already names this content. */
  async content(principal: Principal, id: string, ifNoneMatch?: string): Promise<DocumentContent> {
    const row = await this.visible(principal, id);
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, row.sha256)) return { document: toDocumentDto(row) };
    // Taken before the bytes are read: reading them is what costs the memory.
    const release = this.slots.acquire(principal.userId);
    try {
      const data = await this.documents.content(id);
      if (!data) throw new NotFoundError(NOT_FOUND);
      return { document: toDocumentDto(row), data, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  async update(principal: Principal, id: string, changes: UpdateDocumentDto, ifMatch?: string): Promise<DocumentDto> {
    if (changes.title === undefined && changes.tags === undefined) {
      throw new ValidationFailedError([{ field: 'title', message: 'send title and/or tags' }]);
    }
    const expected = ifMatch === undefined ? undefined : parseVersionTag(ifMatch);
    if (expected === null) {
      const { version } = await this.visible(principal, id);
      throw new AppError(
        400,
        'invalid-if-match',
        `If-Match must be the version from the ETag, in quotes: If-Match: "${version}" (or * for any version).`,
      );
    }
    const updated = await this.documents.update(id, principal.userId, changes, expected);
    if (updated) {
      await this.cache.bump(updated.ownerId);
      return toDocumentDto(updated);
    }
    await this.visible(principal, id); // 404 when it is not there (or not the caller's)
    throw preconditionFailed();
  }

  /** The trash, most recently deleted first. */
  async trash(
    principal: Principal,
    query: TrashListQueryDto,
  ): Promise<{ items: TrashedDocumentDto[]; nextCursor: string | null }> {
    const ownerId = await this.listedOwner(principal, query.owner);
    let after: { key: string; id: string } | undefined;
    if (query.cursor) {
      const [, key, id] = decodeCursor(query.cursor, [(v) => v === TRASH_ORDER, isIsoDate, isUuid]);
      after = { key: key as string, id: id as string };
    }
    const rows = await this.documents.list({ ownerId, limit: query.limit, order: TRASH_ORDER, trashed: true, after });
    const retention = this.config.documents.trashRetentionDays;
    return toPage(
      rows,
      query.limit,
      (row) => toTrashedDocumentDto(row, retention),
      (row) => [TRASH_ORDER, row.deletedAt!.toISOString(), row.id],
    );
  }

  /** Moves a document to the trash, or with `permanent` deletes it for good (from the trash too). */
  async delete(principal: Principal, id: string, permanent = false): Promise<void> {
    const row = permanent
      ? await this.documents.delete(id, principal.userId)
      : await this.documents.trash(id, principal.userId);
    if (!row) throw new NotFoundError(NOT_FOUND);
    await this.recordAdminChange(principal, row, permanent ? 'admin.delete-document' : 'admin.trash-document');
    await this.cache.bump(row.ownerId);
  }

  async restore(principal: Principal, id: string): Promise<DocumentDto> {
    const row = await this.documents.restore(id, principal.userId);
    if (!row) throw new NotFoundError('No such document in the trash.');
    await this.recordAdminChange(principal, row, 'admin.restore-document');
    await this.cache.bump(row.ownerId);
    return toDocumentDto(row);
  }

  /** Deletes everything in the caller's trash for good; returns how many documents went. */
  async emptyTrash(principal: Principal): Promise<number> {
    const deleted = await this.documents.emptyTrash(principal.userId);
    if (deleted > 0) await this.cache.bump(principal.userId);
    return deleted;
  }

  /** Whose documents a list shows: the caller's, or (administrators only) the `owner` asked for. */
  private async listedOwner(principal: Principal, owner: string | undefined): Promise<string> {
    const ownerId = owner?.toLowerCase() ?? principal.userId;
    if (ownerId !== principal.userId && !(await this.documents.isAdmin(principal.userId))) {
      throw new ForbiddenError('Only administrators may list another user’s documents.');
    }
    if (ownerId !== principal.userId) {
      await this.audit.record({ type: 'admin.read-documents', userId: ownerId, actorId: principal.userId });
    }
    return ownerId;
  }

  /** An administrator changing another user's document leaves an event in that user's audit log. */
  private async recordAdminChange(
    principal: Principal,
    row: DocumentRow,
    type: 'admin.trash-document' | 'admin.restore-document' | 'admin.delete-document',
  ): Promise<void> {
    if (row.ownerId === principal.userId) return;
    await this.audit.record({ type, userId: row.ownerId, actorId: principal.userId, details: { documentId: row.id } });
  }

  private async visible(principal: Principal, id: string): Promise<DocumentRow> {
    const row = await this.documents.findVisible(id, principal.userId);
    if (!row) throw new NotFoundError(NOT_FOUND);
    if (row.ownerId !== principal.userId) {
      // Only an administrator sees another user's document.
      await this.audit.record({
        type: 'admin.read-document',
        userId: row.ownerId,
        actorId: principal.userId,
        details: { documentId: row.id },
      });
    }
    return row;
  }

  private quotaError(used: number): AppError {
    return new PayloadTooLargeError(
      `This upload would exceed your storage quota (${used} of ${this.config.userQuotaBytes} bytes used).`,
    );
  }
}

function preconditionFailed(): AppError {
  return new AppError(412, 'precondition-failed', 'The document changed since that version: read it again.');
}

/**
 * If-Match for PATCH: `"<version>"`, or `*` for any (undefined: no check).
 * The bare number a client copies from `version` is taken too: it can only
 * mean that version. Null when it is neither.
 */
function parseVersionTag(value: string): number | undefined | null {
  const trimmed = value.trim();
  if (trimmed === '*') return undefined;
  const match = /^"(\d{1,9})"$|^(\d{1,9})$/.exec(trimmed);
  return match ? Number(match[1] ?? match[2]) : null;
}

/** If-None-Match: a list of entity tags (weak ones compare equal too), or `*`. */
function etagMatches(header: string, sha256: string): boolean {
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === `"${sha256}"`);
}
