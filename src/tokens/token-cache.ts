import { Injectable } from '@nestjs/common';
import { RedisConnection } from '../redis/redis.connection.js';
import { AppConfig } from '../config/config.js';
import { LiveCache, REVOKED } from '../sessions/live-cache.js';
import type { TokenGrant } from './tokens.repository.js';

/**
 * Longer than any live entry (LiveCache keeps those 10 s): a request that read the
 * token from the database just before its deletion can no longer cache it as live.
 */
const TOMBSTONE_TTL_MS = 5 * 60_000;

/**
 * Personal access tokens by the SHA-256 of their secret: live (the grant) or revoked. As
 * sessions are (LiveCache): in Redis when configured, so a revocation on one instance
 * counts on every instance at once; in this process's memory otherwise.
 */
@Injectable()
export class TokenCache {
  private readonly cache: LiveCache;

  constructor(redis: RedisConnection, config: AppConfig) {
    this.cache = new LiveCache(redis, `${config.redisKeyPrefix}pat:`, () => TOMBSTONE_TTL_MS);
  }

  /** The grant, 'revoked', or undefined when nothing is known. */
  async get(tokenHash: string): Promise<TokenGrant | 'revoked' | undefined> {
    const value = await this.cache.get(tokenHash);
    if (value === undefined) return undefined;
    return value === REVOKED ? 'revoked' : (JSON.parse(value) as TokenGrant);
  }

  /** Caches a live grant, never past the token's expiry. */
  fill(tokenHash: string, grant: TokenGrant): Promise<void> {
    const ttl = grant.expiresAt === null ? undefined : grant.expiresAt - Date.now();
    return this.cache.fill(tokenHash, JSON.stringify(grant), ttl);
  }

  revoke(tokenHashes: string[]): Promise<void> {
    return this.cache.revoke(tokenHashes);
  }
}
