import { createHash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.js';
import type { Principal } from '../common/principal.js';
import { ForbiddenError } from '../common/errors.js';
import { decodeCursor, isCursorText, isIsoDate, isRank, toPage } from '../common/pagination.js';
import { isUuid } from '../common/ids.js';
import { AppError, NotFoundError, ValidationFailedError } from '../common/problem.js';
import { timestamp } from '../common/timestamps.js';
import { CacheGenerations } from '../cache/cache-generations.js';
import { AppConfig } from '../config/config.js';
import { EventsService } from '../events/events.service.js';
import { type ByteRange } from '../storage/object-store.js';
import { DocumentStorage } from '../storage/document-storage.js';
import { INDEXED_TEXT_BYTES } from './content-type.js';
import {
  type Access,
  type AccessibleRow,
  DocumentsRepository,
  type DocumentRow,
  type ListOrder,
  type NewContent,
  QuotaExceededError,
  type VersionRow,
} from './documents.repository.js';
import type {
  DocumentDto,
  DocumentListQueryDto,
  TrashedDocumentDto,
  TrashListQueryDto,
  UpdateDocumentDto,
} from './dto/document.dto.js';
import type { DocumentVersionDto } from './dto/storage.dto.js';
import { type ReleaseSlot, DownloadSlots } from './download-slots.js';
import { contentDisposition, sanitizeFilename } from './filename.js';
import { parseRange } from './range.js';
import { UploadCheck } from './upload-check.js';
import type { IncomingFile } from './upload-reader.js';
import { PayloadTooLargeError } from '../common/errors.js';
import { PdfTextIndexer } from '../pdf-text/pdf-text-indexer.js';

/** How a client asked for content: conditions, a range, a redirect. */
export interface ContentRequest {
  ifNoneMatch?: string;
  range?: string;
  ifRange?: string;
  /** Answer with a presigned URL instead of the bytes, when the bytes are in object storage. */
  redirect?: boolean;
}

/** What to answer a content request with. */
export type ContentAnswer =
  | { kind: 'not-modified'; sha256: string }
  | { kind: 'redirect'; url: string; sha256: string }
  | {
      kind: 'bytes';
      sha256: string;
      mimeType: string;
      filename: string;
      size: number;
      /** Set for a 206. */
      range?: ByteRange;
      stream: Readable;
      /** The caller's download slot, to release once the response is over. */
      release: ReleaseSlot;
    };

/** Who an answer's download slot is charged to, and what must hold before content goes out. */
export interface AnswerOptions {
  /** The download-slot key: a user id, or a shared link's caller. */
  slot: string;
  /**
   * Called when the answer will carry content (`range` set for a 206) or a redirect;
   * throws to refuse it, resolves to an undo for when the bytes cannot be read.
   */
  admit?: (range: ByteRange | undefined) => Promise<() => Promise<void>>;
}

/** What a route needs: to read, to edit (title, tags, content), or to manage (delete, restore, share). */
export type Need = 'read' | 'edit' | 'manage';

const ALLOWED: Record<Need, Access[]> = {
  read: ['owner', 'editor', 'viewer'],
  edit: ['owner', 'editor'],
  manage: ['owner'],
};

/** A document the caller may read, with what they may do with it. */
export interface Accessible {
  row: AccessibleRow;
  access: Access;
  /** Seen through administrator rights (not theirs, not shared with them): audited, never cached. */
  asAdmin: boolean;
}

export function toDocumentDto(row: DocumentRow, access: Access): DocumentDto {
  return {
    id: row.id,
    ownerId: row.ownerId,
    title: row.title,
    filename: row.filename,
    mimeType: row.mimeType,
    size: row.size,
    sha256: row.sha256,
    tags: row.tags,
    createdAt: timestamp(row.createdAt),
    updatedAt: timestamp(row.updatedAt),
    version: row.version,
    textStatus: row.textStatus,
    access,
  };
}

const DAY_MS = 86_400_000;

export function toTrashedDocumentDto(row: DocumentRow, retentionDays: number): TrashedDocumentDto {
  const deletedAt = row.deletedAt!;
  return {
    ...toDocumentDto(row, 'owner'),
    deletedAt: timestamp(deletedAt),
    purgeAt: timestamp(new Date(deletedAt.getTime() + retentionDays * DAY_MS)),
  };
}

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function toVersionDto(row: VersionRow, current: number): DocumentVersionDto {
  return {
    n: row.n,
    filename: row.filename,
    mimeType: row.mimeType,
    size: row.size,
    sha256: row.sha256,
    createdAt: timestamp(row.createdAt),
    current: row.n === current,
  };
}

/** The Content-Type a document's bytes are sent with. */
export function contentTypeOf(mimeType: string): string {
  return mimeType.startsWith('text/') ? `${mimeType}; charset=utf-8` : mimeType;
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
    private readonly events: EventsService,
    private readonly storage: DocumentStorage,
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

  /**
   * Streams an upload to storage through the size and content checks. On
   * success the object exists but no row names it yet: the caller either
   * `create`s/`addVersion`s it or `discard`s it.
   */
  async receive(file: IncomingFile): Promise<NewContent> {
    const check = new UploadCheck(file.declaredType, file.filename, this.config.uploadMaxBytes);
    pipeline(file.stream, check, () => undefined);
    const object = await this.storage.write(check);
    const checked = check.checked;
    return {
      object,
      filename: sanitizeFilename(file.filename, checked.type),
      mimeType: checked.type,
      size: checked.size,
      sha256: checked.sha256,
      indexText: checked.text ? (checked.indexText ?? '') : null,
    };
  }

  /** Receives bytes already in memory (a JSON text document). */
  receiveBuffer(data: Buffer, filename: string, declaredType: string): Promise<NewContent> {
    return this.receive({ filename, declaredType, stream: Readable.from([data], { objectMode: false }) });
  }

  /** Deletes received bytes no document took. */
  async discard(content: NewContent): Promise<void> {
    await this.storage.delete(content.object).catch(() => undefined);
  }

  /** Creates the document for received content; on any failure the content is discarded. */
  async create(
    principal: Principal,
    fields: { title?: string; tags?: string[] },
    content: NewContent,
    beforeInsert?: Parameters<DocumentsRepository['insert']>[2],
  ): Promise<DocumentDto> {
    const title = fields.title ?? content.filename.replace(/\.[^.]+$/, '').slice(0, 200);
    try {
      const created = toDocumentDto(
        await this.documents.insert(
          {
            ownerId: principal.userId,
            title: title === '' ? content.filename.slice(0, 200) : title,
            tags: fields.tags ?? [],
            content,
          },
          this.config.userQuotaBytes,
          beforeInsert,
        ),
        'owner',
      );
      await this.cache.bump(principal.userId);
      await this.events.publish({
        type: 'document.created',
        userIds: [principal.userId],
        data: { documentId: created.id, version: created.version },
      });
      if (created.textStatus === 'pending') this.pdfText.wake();
      return created;
    } catch (error) {
      await this.discard(content);
      if (error instanceof QuotaExceededError) throw this.quotaError(error.used);
      throw error;
    }
  }

  /** Makes received content the document's new version (If-Match: "<version>"); discarded on failure. */
  async addVersion(principal: Principal, id: string, content: NewContent, ifMatch?: string): Promise<DocumentDto> {
    try {
      // 404 when it is not there (or not theirs), 403 for a viewer
      const { row, access } = await this.require(principal, id, 'edit');
      const expected = ifMatch === undefined ? undefined : parseVersionTag(ifMatch);
      if (expected === null) throw invalidIfMatch(row.version);
      const result = await this.documents.addVersion(id, principal.userId, content, {
        expectedVersion: expected,
        quotaBytes: this.config.userQuotaBytes,
        maxVersions: this.config.storage.maxVersionsPerDocument,
      });
      if (result === null) throw new NotFoundError(NOT_FOUND);
      if (result === 'stale') throw preconditionFailed();
      await this.changed(id, 'document.updated', { version: result.version });
      void this.storage.drainDeletions();
      return toDocumentDto(result, access);
    } catch (error) {
      await this.discard(content);
      if (error instanceof QuotaExceededError) throw this.quotaError(error.used);
      throw error;
    }
  }

  async versions(principal: Principal, id: string): Promise<DocumentVersionDto[]> {
    const { row } = await this.require(principal, id, 'read');
    return (await this.documents.versions(id)).map((v) => toVersionDto(v, row.contentVersion));
  }

  /** Restores version `n`: a new version with a copy of its bytes. */
  async restoreVersion(principal: Principal, id: string, n: number, ifMatch?: string): Promise<DocumentDto> {
    await this.require(principal, id, 'edit');
    const version = await this.documents.version(id, n);
    if (!version) throw new NotFoundError('No such version of this document.');
    const object = await this.storage.copy(version);
    let indexText: string | null = null;
    if (version.mimeType !== 'application/pdf') {
      try {
        const start = await this.storage.readStart(object, version.size, INDEXED_TEXT_BYTES);
        indexText = new TextDecoder()
          .decode(start)
          .replace(/\uFFFD$/, '')
          .replace(/^\uFEFF/, '');
      } catch (error) {
        await this.storage.delete(object).catch(() => undefined);
        throw error;
      }
    }
    return this.addVersion(
      principal,
      id,
      {
        object,
        filename: version.filename,
        mimeType: version.mimeType,
        size: version.size,
        sha256: version.sha256,
        indexText,
      },
      ifMatch,
    );
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
    const scope = query.scope ?? 'owned';
    if (scope !== 'owned' && ownerId !== principal.userId) {
      throw new ValidationFailedError([{ field: 'scope', message: 'with owner, scope must be owned' }]);
    }
    const rows = await this.documents.list({
      ownerId,
      scope,
      limit: query.limit,
      order,
      q: query.q,
      tag: query.tag,
      after,
    });
    // An administrator's view of another user's list: owner rights, as on each document.
    const toDto = (row: AccessibleRow) => toDocumentDto(row, row.shareRole ?? 'owner');
    return toPage(rows, query.limit, toDto, (row) => [
      order,
      order === 'rank' ? row.rank! : order.endsWith('createdAt') ? row.createdAt.toISOString() : row.title,
      row.id,
    ]);
  }

  async get(principal: Principal, id: string): Promise<DocumentDto> {
    const { row, access } = await this.require(principal, id, 'read');
    return toDocumentDto(row, access);
  }

  /** The current content, as asked: 304, a redirect, all the bytes or a range of them. */
  async content(principal: Principal, id: string, request: ContentRequest): Promise<ContentAnswer> {
    const { row } = await this.require(principal, id, 'read');
    const version = await this.documents.version(id, row.contentVersion);
    if (!version) throw new NotFoundError(NOT_FOUND);
    return this.answer(version, request, { slot: principal.userId });
  }

  /** A kept version's content, as asked. */
  async versionContent(principal: Principal, id: string, n: number, request: ContentRequest): Promise<ContentAnswer> {
    await this.require(principal, id, 'read');
    const version = await this.documents.version(id, n);
    if (!version) throw new NotFoundError('No such version of this document.');
    return this.answer(version, request, { slot: principal.userId });
  }

  /**
   * Answers a content request for one stored version: 304, a presigned redirect
   * (s3, when asked), all the bytes or one range of them (416 when outside).
   * The owner's downloads and shared links' alike: `slot` names whose download
   * slot it takes, and `admit` (a link's download count) runs once the answer is
   * known to carry content or a redirect, before any byte is read: it may refuse
   * by throwing, and gives back an undo for when the bytes cannot be read.
   */
  async answer(version: VersionRow, request: ContentRequest, options: AnswerOptions): Promise<ContentAnswer> {
    const { sha256, size } = version;
    const admit = options.admit ?? (async () => async () => undefined);
    if (request.ifNoneMatch !== undefined && etagMatches(request.ifNoneMatch, sha256)) {
      return { kind: 'not-modified', sha256 };
    }
    if (request.redirect && version.driver === 's3' && this.storage.s3) {
      const url = await this.storage.s3.presignGet(
        version.key,
        this.config.storage.downloadUrlTtlSeconds,
        contentTypeOf(version.mimeType),
        contentDisposition(version.filename),
      );
      await admit(undefined);
      return { kind: 'redirect', url, sha256 };
    }
    // If-Range: the range only applies to the content it names; anything else gets it all.
    const useRange =
      request.range !== undefined && (request.ifRange === undefined || request.ifRange.trim() === `"${sha256}"`);
    const range = useRange ? parseRange(request.range!, size) : undefined;
    if (range === 'unsatisfiable') {
      throw new AppError(
        416,
        'range-not-satisfiable',
        `The range is outside the content, which is ${size} bytes long.`,
        undefined,
        { 'content-range': `bytes */${size}` },
      );
    }
    const release = this.slots.acquire(options.slot);
    try {
      const undo = await admit(range);
      const stream = await this.storage
        .read(version, size === 0 ? undefined : (range ?? { start: 0, end: size - 1 }))
        .catch(async (error: unknown) => {
          await undo();
          throw error;
        });
      return {
        kind: 'bytes',
        sha256,
        mimeType: version.mimeType,
        filename: version.filename,
        size,
        range,
        stream,
        release,
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  async update(principal: Principal, id: string, changes: UpdateDocumentDto, ifMatch?: string): Promise<DocumentDto> {
    if (changes.title === undefined && changes.tags === undefined) {
      throw new ValidationFailedError([{ field: 'title', message: 'send title and/or tags' }]);
    }
    // A personal access token never acts as an administrator: its own rights first.
    if (principal.scopes !== undefined) await this.require(principal, id, 'edit');
    const expected = ifMatch === undefined ? undefined : parseVersionTag(ifMatch);
    if (expected === null) throw invalidIfMatch((await this.require(principal, id, 'edit')).row.version);
    const updated = await this.documents.update(id, principal.userId, changes, expected);
    if (updated) {
      await this.changed(id, 'document.updated', { version: updated.version });
      return toDocumentDto(updated, updated.shareRole ?? 'owner');
    }
    await this.require(principal, id, 'edit'); // 404 when it is not there (or not theirs), 403 for a viewer
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
    const rows = await this.documents.list({
      ownerId,
      scope: 'owned',
      limit: query.limit,
      order: TRASH_ORDER,
      trashed: true,
      after,
    });
    const retention = this.config.documents.trashRetentionDays;
    return toPage(
      rows,
      query.limit,
      (row) => toTrashedDocumentDto(row, retention),
      (row) => [TRASH_ORDER, row.deletedAt!.toISOString(), row.id],
    );
  }

  /**
   * Moves a document to the trash, or with `permanent` deletes it for good (from the
   * trash too): its owner or an administrator only (403 for an editor or viewer, 404
   * for anyone else). Its readers stop seeing it at once and get document.deleted.
   */
  async delete(principal: Principal, id: string, permanent = false): Promise<void> {
    // A live document: its owner, or 403 for the people it is shared with; a trashed one: its owner only.
    const trashed = await this.documents.findTrashed(id, principal.userId);
    if (!trashed) await this.require(principal, id, 'manage');
    if (!permanent) {
      const result = await this.documents.trash(id, principal.userId);
      if (!result) throw new NotFoundError(NOT_FOUND);
      await this.recordAdminChange(principal, result.row, 'admin.trash-document');
      await this.bumpAll(result.readers);
      await this.events.publish({ type: 'document.deleted', userIds: result.readers, data: { documentId: id } });
      return;
    }
    const readers = await this.documents.delete(id, principal.userId);
    if (!readers) throw new NotFoundError(NOT_FOUND);
    await this.recordAdminChange(principal, { id, ownerId: readers[0] }, 'admin.delete-document');
    await this.bumpAll(readers);
    // A trashed document's readers were told when it went to the trash.
    if (!trashed) await this.events.publish({ type: 'document.deleted', userIds: readers, data: { documentId: id } });
    void this.storage.drainDeletions();
  }

  /** Takes a document out of the trash (its owner or an administrator); its readers get document.restored. */
  async restore(principal: Principal, id: string): Promise<DocumentDto> {
    const row = await this.documents.restore(id, principal.userId);
    if (!row) throw new NotFoundError('No such document in the trash.');
    await this.recordAdminChange(principal, row, 'admin.restore-document');
    await this.changed(id, 'document.restored', { version: row.version });
    return toDocumentDto(row, 'owner');
  }

  /** Deletes everything in the caller's trash for good; returns how many documents went. */
  async emptyTrash(principal: Principal): Promise<number> {
    const deleted = await this.documents.emptyTrash(principal.userId);
    if (deleted > 0) {
      await this.cache.bump(principal.userId);
      void this.storage.drainDeletions();
    }
    return deleted;
  }

  /** Whose documents a list shows: the caller's, or (administrators only) the `owner` asked for. */
  private async listedOwner(principal: Principal, owner: string | undefined): Promise<string> {
    const ownerId = owner?.toLowerCase() ?? principal.userId;
    if (ownerId !== principal.userId && !(await this.actsAsAdmin(principal))) {
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
    row: Pick<DocumentRow, 'id' | 'ownerId'>,
    type: 'admin.trash-document' | 'admin.restore-document' | 'admin.delete-document',
  ): Promise<void> {
    if (row.ownerId === principal.userId) return;
    await this.audit.record({ type, userId: row.ownerId, actorId: principal.userId, details: { documentId: row.id } });
  }

  /**
   * The document when the caller may do what `need` says: 404 when they may not
   * even read it (as if it did not exist), 403 when they may read it but not that.
   * Administrators have owner rights on every document (their reads of another
   * user's document are audited).
   */
  async require(principal: Principal, id: string, need: Need): Promise<Accessible> {
    const row = await this.documents.findVisible(id, principal.userId);
    if (!row) throw new NotFoundError(NOT_FOUND);
    let access: Access = row.shareRole ?? 'owner';
    const asAdmin = row.shareRole === null;
    // Administrator rights come with a session, never with a personal access token.
    if (asAdmin && principal.scopes !== undefined) throw new NotFoundError(NOT_FOUND);
    if (!ALLOWED[need].includes(access)) {
      if (!(await this.actsAsAdmin(principal))) {
        throw new ForbiddenError(
          need === 'edit'
            ? 'This document is shared with you as a viewer: you may read it, not change it.'
            : 'Only the document’s owner may do that.',
        );
      }
      access = 'owner';
    }
    if (asAdmin && need === 'read') {
      await this.audit.record({
        type: 'admin.read-document',
        userId: row.ownerId,
        actorId: principal.userId,
        details: { documentId: row.id },
      });
    }
    return { row, access, asAdmin };
  }

  /**
   * After a change to a document: every cached answer that shows it (its owner's
   * and those of the people it is shared with) becomes unreachable, on every
   * instance, and those people get the event.
   */
  async changed(id: string, type: 'document.updated' | 'document.restored', data: Record<string, unknown>) {
    const readers = await this.documents.readers(id);
    await this.bumpAll(readers);
    await this.events.publish({ type, userIds: readers, data: { documentId: id, ...data } });
  }

  /**
   * Call before an account is deleted (its documents go with it by cascade); call
   * what it returns once it is: the people its documents were shared with stop
   * seeing them at once, and get document.deleted.
   */
  async ownerLeaving(ownerId: string): Promise<() => Promise<void>> {
    const shares = await this.documents.sharesOfOwner(ownerId);
    return async () => {
      await this.bumpAll(shares.map((share) => share.userId));
      for (const documentId of new Set(shares.map((share) => share.documentId))) {
        const userIds = shares.filter((share) => share.documentId === documentId).map((share) => share.userId);
        await this.events.publish({ type: 'document.deleted', userIds, data: { documentId } });
      }
    };
  }

  /** An administrator signed in with a session: a personal access token never carries admin rights. */
  private async actsAsAdmin(principal: Principal): Promise<boolean> {
    return principal.scopes === undefined && (await this.documents.isAdmin(principal.userId));
  }

  /** Bumps the cache generation of each user. */
  async bumpAll(userIds: string[]): Promise<void> {
    await Promise.all([...new Set(userIds)].map((userId) => this.cache.bump(userId)));
  }

  /** The 413 for a quota that `used` bytes leave no room in. */
  quotaErrorFor(used: number): AppError {
    return this.quotaError(used);
  }

  /** Bytes counted toward the owner's quota, read in a caller's transaction. */
  usedBytesIn(manager: { query(sql: string, params: unknown[]): Promise<Array<{ used: number }>> }, ownerId: string) {
    return this.documents.usedBytesIn(manager, ownerId);
  }

  private quotaError(used: number): AppError {
    return new PayloadTooLargeError(
      `This upload would exceed your storage quota (${used} of ${this.config.userQuotaBytes} bytes used).`,
    );
  }
}

function invalidIfMatch(version: number): AppError {
  return new AppError(
    400,
    'invalid-if-match',
    `If-Match must be the version from the ETag, in quotes: If-Match: "${version}" (or * for any version).`,
  );
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
