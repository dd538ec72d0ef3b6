import { Injectable } from '@nestjs/common';
import { RedisOrMemory } from '../redis/redis-or-memory.js';
import { RedisConnection } from '../redis/redis.connection.js';
import { AppConfig } from '../config/config.js';

const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

const TOMBSTONES = `
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return 1`;

/** What the cache holds for a session that is revoked, expired or unknown. */
export const REVOKED = '-';

/**
 * Remembers, for a few seconds, that a session is live and its user enabled,
 * so an authenticated request costs no database round trip; and that a session
 * is revoked (a tombstone), so a replayed revoked token costs none either.
 *
 * A revocation writes the tombstone over whatever is there; a fill after a
 * database read only writes where nothing is (SET NX). So a request that read
 * "live" just before a revocation cannot cache the session as live after it:
 * the tombstone is already there, and outlives every access token of the
 * session (ACCESS_TOKEN_TTL_SECONDS), the only thing that could ask for it.
 *
 * With Redis, the entries are shared, so a revocation on one instance counts
 * on all of them at once; if Redis is down, lookups go to the database.
 * Without Redis, each process keeps its own, and the TTL bounds how long
 * another instance can lag.
 */
@Injectable()
export class SessionCache {
  /** Without Redis's answer, the database decides (a lookup); nothing is cached meanwhile. */
  private readonly store: RedisOrMemory<string>;

  constructor(
    redis: RedisConnection,
    private readonly config: AppConfig,
  ) {
    this.store = new RedisOrMemory(redis, `${config.redisKeyPrefix}sess:`, 'without', { maxEntries: MAX_ENTRIES });
  }

  /** The session's user id, REVOKED, or undefined when nothing is known. */
  async get(sessionId: string): Promise<string | undefined> {
    switch (this.store.backend) {
      case 'redis':
        return (await this.store.inRedis((redis, [key]) => redis.get(key), sessionId)) ?? undefined;
      case 'memory':
        return this.store.memory.get(sessionId);
      case 'none':
        return undefined;
    }
  }

  /** Records a live session, unless something (a tombstone) was written meanwhile. */
  async fill(sessionId: string, userId: string): Promise<void> {
    await this.write([sessionId], userId, TTL_MS, true);
  }

  /** Records sessions as revoked, over whatever is cached for them. */
  async revoke(sessionIds: string[]): Promise<void> {
    await this.write(sessionIds, REVOKED, this.config.accessTokenTtlSeconds * 1000, false);
  }

  private async write(sessionIds: string[], value: string, ttlMs: number, onlyIfAbsent: boolean): Promise<void> {
    if (sessionIds.length === 0) return;
    switch (this.store.backend) {
      case 'redis':
        if (onlyIfAbsent) {
          await this.store.inRedis(
            (redis, [key]) => redis.set(key, value, { expiration: { type: 'PX', value: ttlMs }, condition: 'NX' }),
            sessionIds[0],
          );
        } else {
          // A tombstone must be written even when Redis is full (noeviction).
          await this.store.evalEvenWhenFull(TOMBSTONES, sessionIds, [value, String(ttlMs)]).catch(() => undefined);
        }
        // Not written: a fill is simply not cached; a live entry expires within TTL_MS.
        return;
      case 'memory':
        for (const id of sessionIds) {
          if (onlyIfAbsent && this.store.memory.get(id) !== undefined) continue;
          this.store.memory.set(id, value, ttlMs);
        }
        return;
      case 'none':
        return;
    }
  }
}
