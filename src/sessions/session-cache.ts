import { Injectable } from '@nestjs/common';
import { RedisConnection } from '../redis/redis.connection.js';
import { AppConfig } from '../config/config.js';
import { LiveCache } from './live-cache.js';

/**
 * Which sessions are live (the value is the session's user id) or revoked: see LiveCache.
 * A tombstone outlives every access token of the session (ACCESS_TOKEN_TTL_SECONDS),
 * the only thing that could ask for it.
 */
@Injectable()
export class SessionCache {
  private readonly cache: LiveCache;

  constructor(redis: RedisConnection, config: AppConfig) {
    this.cache = new LiveCache(redis, `${config.redisKeyPrefix}sess:`, () => config.accessTokenTtlSeconds * 1000);
  }

  /** The session's user id, REVOKED, or undefined when nothing is known. */
  get(sessionId: string): Promise<string | undefined> {
    return this.cache.get(sessionId);
  }

  /** Records a live session, unless something (a tombstone) was written meanwhile. */
  fill(sessionId: string, userId: string): Promise<void> {
    return this.cache.fill(sessionId, userId);
  }

  /** Records sessions as revoked, over whatever is cached for them. */
  revoke(sessionIds: string[]): Promise<void> {
    return this.cache.revoke(sessionIds);
  }
}
