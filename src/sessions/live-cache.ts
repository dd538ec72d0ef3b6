import { RedisOrMemory } from '../redis/redis-or-memory.js';
import type { RedisConnection } from '../redis/redis.connection.js';

const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

const TOMBSTONES = `
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return 1`;

/** What the cache holds for a credential that is revoked, expired or unknown. */
export const REVOKED = '-';

/**
 * Remembers, for a few seconds, that a credential (a session, a personal access token)
 * is live, with a small value (its user, a token's grant), so an authenticated request
 * costs no database round trip; and that a credential is revoked (a tombstone), so a
 * replayed revoked one costs none either.
 *
 * A revocation writes the tombstone over whatever is there; a fill after a
 * database read only writes where nothing is (SET NX). So a request that read
 * "live" just before a revocation cannot cache the credential as live after it:
 * the tombstone is already there, and outlives (`tombstoneTtlMs`) everything
 * that could still ask for it.
 *
 * With Redis, the entries are shared, so a revocation on one instance counts
 * on all of them at once; if Redis is down, lookups go to the database.
 * Without Redis, each process keeps its own, and the TTL bounds how long
 * another instance can lag.
 */
export class LiveCache {
  /** Without Redis's answer, the database decides (a lookup); nothing is cached meanwhile. */
  private readonly store: RedisOrMemory<string>;

  constructor(
    redis: RedisConnection,
    /** REDIS_KEY_PREFIX and the kind of credential, e.g. `ultrai:sess:`. */
    prefix: string,
    private readonly tombstoneTtlMs: () => number,
  ) {
    this.store = new RedisOrMemory(redis, prefix, 'without', { maxEntries: MAX_ENTRIES });
  }

  /** The cached value, REVOKED, or undefined when nothing is known. */
  async get(id: string): Promise<string | undefined> {
    switch (this.store.backend) {
      case 'redis':
        return (await this.store.inRedis((redis, [key]) => redis.get(key), id)) ?? undefined;
      case 'memory':
        return this.store.memory.get(id);
      case 'none':
        return undefined;
    }
  }

  /** Records a live credential for at most `ttlMs`, unless something (a tombstone) was written meanwhile. */
  async fill(id: string, value: string, ttlMs = TTL_MS): Promise<void> {
    await this.write([id], value, Math.min(ttlMs, TTL_MS), true);
  }

  /** Records credentials as revoked, over whatever is cached for them. */
  async revoke(ids: string[]): Promise<void> {
    await this.write(ids, REVOKED, this.tombstoneTtlMs(), false);
  }

  private async write(ids: string[], value: string, ttlMs: number, onlyIfAbsent: boolean): Promise<void> {
    if (ids.length === 0 || ttlMs <= 0) return;
    switch (this.store.backend) {
      case 'redis':
        if (onlyIfAbsent) {
          await this.store.inRedis(
            (redis, [key]) => redis.set(key, value, { expiration: { type: 'PX', value: ttlMs }, condition: 'NX' }),
            ids[0],
          );
        } else {
          // A tombstone must be written even when Redis is full (noeviction).
          await this.store.evalEvenWhenFull(TOMBSTONES, ids, [value, String(ttlMs)]).catch(() => undefined);
        }
        // Not written: a fill is simply not cached; a live entry expires within TTL_MS.
        return;
      case 'memory':
        for (const id of ids) {
          if (onlyIfAbsent && this.store.memory.get(id) !== undefined) continue;
          this.store.memory.set(id, value, ttlMs);
        }
        return;
      case 'none':
        return;
    }
  }
}
