import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/principal.js';
import { PasswordService } from '../sessions/password.service.js';
import { rateLimitedError } from '../rate-limit/rate-limit.guard.js';
import { RateLimitStorage } from '../rate-limit/rate-limit.storage.js';
import { AppError, NotFoundError, ValidationFailedError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import { DocumentsRepository, type DocumentRow } from '../documents/documents.repository.js';
import { type ContentRequest, DocumentsService } from '../documents/documents.service.js';
import { LinkResumes } from './link-resumes.js';
import { EventsService } from '../events/events.service.js';
import type {
  CreatedLinkDto,
  CreateLinkDto,
  CreateShareDto,
  LinkDto,
  ShareDto,
  ShareRoleName,
  SharedDocumentDto,
} from './dto/sharing.dto.js';
import { type LinkRow, type ShareRow, SharingRepository } from './sharing.repository.js';

const NO_SHARE = 'No such share.';
const NO_LINK = 'No such link.';
/** One answer for an unknown, expired, used-up or revoked link: which it is stays unknown. */
const LINK_GONE = 'This link does not exist or no longer works.';
/** 256 random bits, base64url: 43 characters. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const usedUp = (link: LinkRow) => link.maxDownloads !== null && link.downloads >= link.maxDownloads;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function toShareDto(row: ShareRow, sharedByEmail: boolean): ShareDto {
  return {
    id: row.id,
    documentId: row.documentId,
    role: row.role,
    email: row.invitedEmail,
    userId: sharedByEmail ? null : row.userId,
    ...(row.username !== undefined ? { username: row.username } : {}),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toLinkDto(row: LinkRow): LinkDto {
  return {
    id: row.id,
    documentId: row.documentId,
    expiresAt: row.expiresAt,
    maxDownloads: row.maxDownloads,
    downloads: row.downloads,
    hasPassword: row.passwordHash !== null,
    createdAt: row.createdAt,
  };
}

/** A live link and its document, once its password (if any) was given. */
export interface OpenedLink {
  link: LinkRow;
  document: DocumentRow;
}

/**
 * Sharing a document with people (viewer or editor) and by link. Only the
 * owner (or an administrator) manages either. Every change moves the cache
 * generations of the users it concerns, and tells them through the event stream.
 */
@Injectable()
export class SharingService {
  constructor(
    private readonly sharing: SharingRepository,
    private readonly documents: DocumentsService,
    private readonly documentRows: DocumentsRepository,
    private readonly passwords: PasswordService,
    private readonly limits: RateLimitStorage,
    private readonly events: EventsService,
    private readonly config: AppConfig,
    private readonly resumes: LinkResumes,
  ) {}

  /**
   * Shares with a person by email or user id. An address or id with no account
   * gets the same answer as one with an account (a 201 with a share of the same
   * shape), and nothing is stored: no one learns who has an account.
   */
  async share(principal: Principal, documentId: string, dto: CreateShareDto): Promise<ShareDto> {
    if (dto.email !== undefined && dto.userId !== undefined) {
      throw new ValidationFailedError([{ field: 'userId', message: 'send email or userId, not both' }]);
    }
    const { row: document } = await this.documents.require(principal, documentId, 'manage');
    const byEmail = dto.email !== undefined;
    const userId = byEmail
      ? await this.sharing.userIdByEmail(dto.email!)
      : (await this.sharing.userExists(dto.userId!.toLowerCase()))
        ? dto.userId!.toLowerCase()
        : null;
    if (userId === document.ownerId) {
      throw new ValidationFailedError([
        { field: byEmail ? 'email' : 'userId', message: 'this is the document’s owner: they have it already' },
      ]);
    }
    if (userId === null) {
      const now = new Date();
      return {
        id: randomUUID(),
        documentId,
        role: dto.role,
        email: dto.email ?? null,
        userId: byEmail ? null : dto.userId!.toLowerCase(),
        createdAt: now,
        updatedAt: now,
      };
    }
    const row = await this.sharing.upsertShare(documentId, userId, dto.role, dto.email ?? null);
    await this.documents.bumpAll([document.ownerId, userId]);
    await this.events.publish({
      type: 'document.shared',
      userIds: [document.ownerId, userId],
      data: { documentId, shareId: row.id, userId, role: row.role },
    });
    return toShareDto(row, byEmail);
  }

  async shares(principal: Principal, documentId: string): Promise<ShareDto[]> {
    await this.documents.require(principal, documentId, 'manage');
    return (await this.sharing.shares(documentId)).map((row) => toShareDto(row, row.invitedEmail !== null));
  }

  async changeShare(principal: Principal, documentId: string, shareId: string, role: ShareRoleName): Promise<ShareDto> {
    const { row: document } = await this.documents.require(principal, documentId, 'manage');
    const row = await this.sharing.updateShare(documentId, shareId, role);
    if (!row) throw new NotFoundError(NO_SHARE);
    await this.documents.bumpAll([document.ownerId, row.userId]);
    await this.events.publish({
      type: 'document.shared',
      userIds: [document.ownerId, row.userId],
      data: { documentId, shareId, userId: row.userId, role },
    });
    return toShareDto(row, row.invitedEmail !== null);
  }

  async unshare(principal: Principal, documentId: string, shareId: string): Promise<void> {
    const { row: document } = await this.documents.require(principal, documentId, 'manage');
    const row = await this.sharing.deleteShare(documentId, shareId);
    if (!row) throw new NotFoundError(NO_SHARE);
    await this.documents.bumpAll([document.ownerId, row.userId]);
    await this.events.publish({
      type: 'document.unshared',
      userIds: [document.ownerId, row.userId],
      data: { documentId, shareId, userId: row.userId },
    });
  }

  async createLink(principal: Principal, documentId: string, dto: CreateLinkDto): Promise<CreatedLinkDto> {
    if (dto.expiresAt && dto.expiresAt.getTime() <= Date.now()) {
      throw new ValidationFailedError([{ field: 'expiresAt', message: 'expiresAt must be in the future' }]);
    }
    await this.documents.require(principal, documentId, 'manage');
    const token = randomBytes(32).toString('base64url');
    const row = await this.sharing.createLink(documentId, hashToken(token), {
      passwordHash: dto.password === undefined ? null : await this.passwords.hash(dto.password),
      expiresAt: dto.expiresAt ?? null,
      maxDownloads: dto.maxDownloads ?? null,
    });
    return { ...toLinkDto(row), url: `${this.config.accounts.publicUrl}/s/${token}`, token };
  }

  async links(principal: Principal, documentId: string): Promise<LinkDto[]> {
    await this.documents.require(principal, documentId, 'manage');
    return (await this.sharing.links(documentId)).map(toLinkDto);
  }

  async revokeLink(principal: Principal, documentId: string, linkId: string): Promise<void> {
    await this.documents.require(principal, documentId, 'manage');
    if (!(await this.sharing.deleteLink(documentId, linkId))) throw new NotFoundError(NO_LINK);
  }

  /**
   * A live link and its document: 404 (one answer for every reason) when the
   * token is unknown, expired, used up or revoked; 401 when the link has a
   * password and it is missing or wrong (limited: see checkPassword).
   */
  async open(token: string, password: string | undefined, ip: string): Promise<OpenedLink> {
    const link = await this.unexpired(token);
    if (usedUp(link)) throw new NotFoundError(LINK_GONE);
    return this.withDocument(link, password, ip);
  }

  /**
   * A download by link, as `GET /documents/:id/content` answers it (304, a
   * presigned redirect, 200, or 206 for one range). It counts towards
   * maxDownloads, atomically, when it is answered with content or a redirect,
   * except a range not starting at byte 0 from an IP that downloaded this link
   * within LINK_RESUME_WINDOW_MS: the pieces of a resumed or split download
   * count once, and the download that used the link up can still be resumed.
   */
  async download(token: string, password: string | undefined, ip: string, request: ContentRequest) {
    const link = await this.unexpired(token);
    const resuming = request.range !== undefined && (await this.resumes.downloading(link.id, ip));
    if (usedUp(link) && !resuming) throw new NotFoundError(LINK_GONE);
    const { document } = await this.withDocument(link, password, ip);
    const version = await this.documentRows.currentVersion(document.id);
    if (!version) throw new NotFoundError(LINK_GONE);
    return this.documents.answer(version, request, {
      slot: `link-ip:${ip}`,
      admit: async (range) => {
        const undo =
          range !== undefined && range.start > 0 && resuming ? async () => undefined : await this.countDownload(link);
        await this.resumes.remember(link.id, ip);
        return undo;
      },
    });
  }

  private async unexpired(token: string): Promise<LinkRow> {
    const link = TOKEN.test(token) ? await this.sharing.unexpiredLink(hashToken(token)) : null;
    if (!link) throw new NotFoundError(LINK_GONE);
    return link;
  }

  private async withDocument(link: LinkRow, password: string | undefined, ip: string): Promise<OpenedLink> {
    if (link.passwordHash !== null) await this.checkPassword(link, password, ip);
    const document = await this.documentRows.find(link.documentId);
    if (!document) throw new NotFoundError(LINK_GONE);
    return { link, document };
  }

  toShared({ link, document }: OpenedLink): SharedDocumentDto {
    return {
      title: document.title,
      filename: document.filename,
      mimeType: document.mimeType,
      size: document.size,
      sha256: document.sha256,
      updatedAt: document.updatedAt,
      expiresAt: link.expiresAt,
      downloadsLeft: link.maxDownloads === null ? null : Math.max(0, link.maxDownloads - link.downloads),
    };
  }

  /** Counts one download atomically; 404 when the link ran out meanwhile. */
  async countDownload(link: LinkRow): Promise<() => Promise<void>> {
    if (!(await this.sharing.countDownload(link.id))) throw new NotFoundError(LINK_GONE);
    return () => this.sharing.uncountDownload(link.id);
  }

  /** Every link of the document stops working (call when it is deleted or trashed). */
  async killLinks(documentId: string): Promise<void> {
    await this.sharing.deleteLinksOf(documentId);
  }

  /**
   * Wrong passwords are limited so that guessing is slow and a guesser cannot
   * lock out the people who know the password:
   * - per IP (on any link): past LINK_PASSWORD_ATTEMPTS_MAX wrong in the window,
   *   that IP gets 429 for the rest of it, right password or not; others are
   *   unaffected;
   * - per link (from any IP): past LINK_PASSWORD_LINK_ATTEMPTS_MAX wrong in the
   *   window, until it ends, the link checks the password only from IPs that
   *   guessed wrong on it in none of that window (one wrong guess, and that IP
   *   gets 429 too): a distributed guesser gets one guess per fresh IP, and
   *   whoever has the password still gets in from their own.
   * A right password resets nothing: the counts run out with their window.
   */
  private async checkPassword(link: LinkRow, password: string | undefined, ip: string): Promise<void> {
    const { linkPasswordAttemptsMax, linkPasswordLinkAttemptsMax, linkPasswordWindowMs: windowMs } = this.config;
    const ipKey = `link-password-ip:${ip}`;
    const linkKey = `link-password:${link.id}`;
    const guessedKey = `link-password-guessed:${link.id}:${ip}`;
    const ipBlocked = await this.limits.blockedFor(`${ipKey}:blocked`);
    if (ipBlocked > 0) throw rateLimitedError(ipBlocked / 1000);
    const linkBlocked = await this.limits.blockedFor(`${linkKey}:blocked`);
    if (linkBlocked > 0 && (await this.limits.blockedFor(guessedKey)) > 0) throw rateLimitedError(linkBlocked / 1000);
    if (password === undefined || password === '') {
      throw new AppError(401, 'link-password-required', 'This link needs its password: send it in X-Link-Password.');
    }
    // argon2's verification compares in constant time.
    if (await this.passwords.verify(link.passwordHash!, password)) return;
    await this.limits.block(guessedKey, windowMs);
    for (const [key, max] of [
      [ipKey, linkPasswordAttemptsMax],
      [linkKey, linkPasswordLinkAttemptsMax],
    ] as const) {
      const counted = await this.limits.increment(key, windowMs, max);
      if (counted.totalHits >= max) await this.limits.block(`${key}:blocked`, counted.timeToExpire * 1000);
    }
    throw new AppError(401, 'link-password-wrong', 'Wrong password for this link.');
  }
}
