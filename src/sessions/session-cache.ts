import { Injectable } from '@nestjs/common';
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
  private readonly memory = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
  ) {}

  /** The session's user id, REVOKED, or undefined when nothing is known. */
  async get(sessionId: string): Promise<string | undefined> {
    if (this.redis.configured) {
      if (!this.redis.ready) return undefined;
      try {
        return (await this.redis.run((redis) => redis.get(this.key(sessionId)))) ?? undefined;
      } catch {
        return undefined;
      }
    }
    const entry = this.memory.get(sessionId);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.memory.delete(sessionId);
      return undefined;
    }
    return entry.value;
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
    if (this.redis.configured) {
      if (!this.redis.ready) return;
      const keys = sessionIds.map((id) => this.key(id));
      try {
        if (onlyIfAbsent) {
          await this.redis.run((redis) =>
            redis.set(keys[0], value, { expiration: { type: 'PX', value: ttlMs }, condition: 'NX' }),
          );
        } else {
          // A tombstone must be written even when Redis is full (noeviction).
          await this.redis.evalEvenWhenFull(TOMBSTONES, keys, [value, String(ttlMs)]);
        }
      } catch {
        // Not written: a fill is simply not cached; a live entry expires within TTL_MS.
      }
      return;
    }
    const now = Date.now();
    for (const id of sessionIds) {
      const existing = this.memory.get(id);
      if (onlyIfAbsent && existing && existing.until > now) continue;
      if (!existing && this.memory.size >= MAX_ENTRIES) {
        // Oldest first: a Map iterates in insertion order.
        this.memory.delete(this.memory.keys().next().value as string);
      }
      this.memory.set(id, { value, until: now + ttlMs });
    }
  }

  private key(sessionId: string): string {
    return `${this.config.redisKeyPrefix}sess:${sessionId}`;
  }
}
