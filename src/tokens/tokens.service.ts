import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.js';
import { EventsService } from '../events/events.service.js';
import type { Principal } from '../common/principal.js';
import type { Scope } from '../auth/scopes.decorator.js';
import { isUuid } from '../common/ids.js';
import { decodeCursor, isIsoDate, toPage } from '../common/pagination.js';
import { AppError, NotFoundError } from '../common/problem.js';
import type { CreatedTokenDto, TokenDto } from './dto/token.dto.js';
import {
  hashPersonalAccessToken,
  isPersonalAccessToken,
  newPersonalAccessToken,
  shownPrefix,
} from './personal-access-token.js';
import { TokenCache } from './token-cache.js';
import { type TokenGrant, type TokenRow, TokensRepository } from './tokens.repository.js';

/** A bound on what one account keeps, so a script in a loop cannot fill the table. */
export const MAX_TOKENS_PER_USER = 100;
/** last_used_at is written at most this often per token: a token used in a loop costs no write per request. */
const LAST_USED_EVERY_MS = 60_000;
/** Bound on each per-process memo below. */
const REMEMBERED_MAX = 10_000;

/** Personal access tokens: created, listed and revoked by their owner; checked on every request that carries one. */
@Injectable()
export class TokensService {
  /** Token id → when this process last wrote its last_used_at. */
  private readonly touched = new Map<string, number>();
  /** Token hash → its user, for tokens this process authenticated (a token never changes hands). */
  private readonly owners = new Map<string, string>();

  constructor(
    private readonly tokens: TokensRepository,
    private readonly cache: TokenCache,
    private readonly audit: AuditLog,
    private readonly events: EventsService,
  ) {}

  async create(
    principal: Principal,
    input: { name: string; scopes: Scope[]; expiresAt?: Date },
  ): Promise<CreatedTokenDto> {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new AppError(400, 'validation-failed', 'The request is not valid.', [
        { field: 'expiresAt', message: 'expiresAt must be in the future' },
      ]);
    }
    if ((await this.tokens.count(principal.userId)) >= MAX_TOKENS_PER_USER) {
      throw new AppError(
        409,
        'too-many-tokens',
        `An account keeps at most ${MAX_TOKENS_PER_USER} tokens; revoke one first.`,
      );
    }
    const token = newPersonalAccessToken();
    const row = await this.tokens.create({
      userId: principal.userId,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      tokenHash: hashPersonalAccessToken(token),
      prefix: shownPrefix(token),
      expiresAt: input.expiresAt ?? null,
    });
    await this.audit.record({
      type: 'token.created',
      userId: principal.userId,
      actorId: principal.userId,
      details: { tokenId: row.id, scopes: row.scopes.join(' ') },
    });
    return { ...toTokenDto(row), token };
  }

  async list(
    principal: Principal,
    limit: number,
    cursor?: string,
  ): Promise<{ items: TokenDto[]; nextCursor: string | null }> {
    const after = cursor ? decodeCursor(cursor, [isIsoDate, isUuid]) : undefined;
    const rows = await this.tokens.list(
      principal.userId,
      limit,
      after ? { createdAt: after[0] as string, id: after[1] as string } : undefined,
    );
    return toPage(rows, limit, toTokenDto, (t) => [t.createdAt.toISOString(), t.id]);
  }

  async revoke(principal: Principal, id: string): Promise<void> {
    const hash = await this.tokens.delete(id, principal.userId);
    if (!hash) throw new NotFoundError('No such token.');
    await this.cache.revoke([hash]);
    this.touched.delete(id);
    await this.closeStreams(principal.userId, [id]);
    await this.audit.record({
      type: 'token.revoked',
      userId: principal.userId,
      actorId: principal.userId,
      details: { tokenId: id },
    });
  }

  /** Makes every token of a user just disabled stop working at once, on every instance (their streams close). */
  async forgetUser(userId: string): Promise<void> {
    const tokens = await this.tokens.ofUser(userId);
    await this.cache.revoke(tokens.map((t) => t.hash));
    await this.closeStreams(
      userId,
      tokens.map((t) => t.id),
    );
  }

  /** Runs `remove` (which deletes the user, and so their tokens by cascade), then forgets their tokens. */
  async removeUser(userId: string, remove: () => Promise<boolean>): Promise<boolean> {
    const tokens = await this.tokens.ofUser(userId);
    const removed = await remove();
    if (removed) {
      await this.cache.revoke(tokens.map((t) => t.hash));
      await this.closeStreams(
        userId,
        tokens.map((t) => t.id),
      );
    }
    return removed;
  }

  /** The event streams these tokens opened get token.revoked and close at once, on every instance. */
  private async closeStreams(userId: string, tokenIds: string[]): Promise<void> {
    for (const id of tokenIds) {
      await this.events.publish({ type: 'token.revoked', userIds: [userId], sessionId: id, data: { tokenId: id } });
    }
  }

  /**
   * The principal of a `uc_pat_…` token, or undefined: unknown, revoked, expired, or its
   * user disabled. The cache first, then (unless `cachedOnly`) the database.
   */
  async authenticate(token: string, { cachedOnly = false } = {}): Promise<Principal | undefined> {
    if (!isPersonalAccessToken(token)) return undefined;
    const hash = hashPersonalAccessToken(token);
    let grant: TokenGrant | 'revoked' | undefined = await this.cache.get(hash);
    if (grant === undefined) {
      if (cachedOnly) return undefined;
      grant = await this.tokens.findGrant(hash);
      if (grant) await this.cache.fill(hash, grant);
    }
    if (!grant || grant === 'revoked' || (grant.expiresAt !== null && grant.expiresAt <= Date.now())) return undefined;
    this.noteUse(grant.id);
    if (!this.owners.has(hash)) {
      if (this.owners.size >= REMEMBERED_MAX) this.owners.clear();
      this.owners.set(hash, grant.userId);
    }
    return { userId: grant.userId, sessionId: grant.id, scopes: grant.scopes };
  }

  /** The user of a token this process authenticated before (no I/O), or undefined. */
  knownOwner(token: string): string | undefined {
    return isPersonalAccessToken(token) ? this.owners.get(hashPersonalAccessToken(token)) : undefined;
  }

  /** Records the use in the background, at most once a minute per token and process. */
  private noteUse(id: string): void {
    const now = Date.now();
    const last = this.touched.get(id);
    if (last !== undefined && now - last < LAST_USED_EVERY_MS) return;
    if (last === undefined && this.touched.size >= REMEMBERED_MAX) this.touched.clear();
    this.touched.set(id, now);
    // Not awaited: the request does not wait for a bookkeeping write, nor fail with it.
    this.tokens.touch(id, LAST_USED_EVERY_MS).catch(() => this.touched.delete(id));
  }
}

function toTokenDto(row: TokenRow): TokenDto {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    prefix: row.prefix,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    expiresAt: row.expiresAt,
  };
}
