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
import { EventsService } from '../events/events.service.js';
import {
  type Access,
  type AccessibleRow,
  DocumentsRepository,
  type DocumentRow,
  type ListOrder,
  QuotaExceededError,
} from './documents.repository.js';
import type { DocumentDto, DocumentListQueryDto, UpdateDocumentDto } from './dto/document.dto.js';
import { type ReleaseSlot, DownloadSlots } from './download-slots.js';
import { sanitizeFilename } from './filename.js';
import { PayloadTooLargeError } from '../common/errors.js';

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
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    version: row.version,
    access,
  };
}

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const NOT_FOUND = 'No such document.';
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
    private readonly events: EventsService,
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
            data: incoming.data,
          },
          this.config.userQuotaBytes,
        ),
        'owner',
      );
      await this.cache.bump(principal.userId);
      await this.events.publish({
        type: 'document.created',
        userIds: [principal.userId],
        data: { documentId: created.id, version: created.version },
      });
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
    const ownerId = query.owner?.toLowerCase() ?? principal.userId;
    if (ownerId !== principal.userId && !(await this.documents.isAdmin(principal.userId))) {
      throw new ForbiddenError('Only administrators may list another user’s documents.');
    }
    if (ownerId !== principal.userId) {
      await this.audit.record({ type: 'admin.read-documents', userId: ownerId, actorId: principal.userId });
    }
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

  /** The bytes, unless `ifNoneMatch` already names this content. */
  async content(principal: Principal, id: string, ifNoneMatch?: string): Promise<DocumentContent> {
    const { row, access } = await this.require(principal, id, 'read');
    const document = toDocumentDto(row, access);
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, row.sha256)) return { document };
    // Taken before the bytes are read: reading them is what costs the memory.
    const release = this.slots.acquire(principal.userId);
    try {
      const data = await this.documents.content(id);
      if (!data) throw new NotFoundError(NOT_FOUND);
      return { document, data, release };
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
      const { version } = (await this.require(principal, id, 'edit')).row;
      throw new AppError(
        400,
        'invalid-if-match',
        `If-Match must be the version from the ETag, in quotes: If-Match: "${version}" (or * for any version).`,
      );
    }
    const updated = await this.documents.update(id, principal.userId, changes, expected);
    if (updated) {
      await this.changed(id, 'document.updated', { version: updated.version });
      return toDocumentDto(updated, updated.shareRole ?? 'owner');
    }
    await this.require(principal, id, 'edit'); // 404 when it is not there (or not theirs), 403 for a viewer
    throw preconditionFailed();
  }

  async delete(principal: Principal, id: string): Promise<void> {
    await this.require(principal, id, 'manage'); // 403 for an editor or viewer, 404 for anyone else
    const readers = await this.documents.delete(id, principal.userId);
    if (!readers) throw new NotFoundError(NOT_FOUND);
    await this.bumpAll(readers);
    await this.events.publish({ type: 'document.deleted', userIds: readers, data: { documentId: id } });
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
    if (!ALLOWED[need].includes(access)) {
      if (!(await this.documents.isAdmin(principal.userId))) {
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

  /** Bumps the cache generation of each user. */
  async bumpAll(userIds: string[]): Promise<void> {
    await Promise.all([...new Set(userIds)].map((userId) => this.cache.bump(userId)));
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
