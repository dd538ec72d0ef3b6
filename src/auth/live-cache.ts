import type { RedisConnection } from '../cache/redis.connection.js';

const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

const TOMBSTONES = `
for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
return 1`;

/** What the cache holds for a credential that is revoked, expired or unknown. */
export const REVOKED = '-';

/**
 * Remembers, for a few seconds, that a credential is live (with a small value: its
 * user, or a token's record), so an authenticated request costs no database round
 * trip; and that a credential is revoked (a tombstone), so a replayed revoked one
 * costs none either.
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
  private readonly memory = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly redis: RedisConnection,
    /** Redis key prefix of this kind of credential, e.g. `ultrai:sess:`. */
    private readonly keyPrefix: string,
    private readonly tombstoneTtlMs: () => number,
  ) {}

  /** The cached value, REVOKED, or undefined when nothing is known. */
  async get(id: string): Promise<string | undefined> {
    if (this.redis.configured) {
      if (!this.redis.ready) return undefined;
      try {
        return (await this.redis.run((redis) => redis.get(this.keyPrefix + id))) ?? undefined;
      } catch {
        return undefined;
      }
    }
    const entry = this.memory.get(id);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.memory.delete(id);
      return undefined;
    }
    return entry.value;
  }

  /** Records a live credential, unless something (a tombstone) was written meanwhile. */
  async fill(id: string, value: string, ttlMs = TTL_MS): Promise<void> {
    await this.write([id], value, Math.min(ttlMs, TTL_MS), true);
  }

  /** Records credentials as revoked, over whatever is cached for them. */
  async revoke(ids: string[]): Promise<void> {
    await this.write(ids, REVOKED, this.tombstoneTtlMs(), false);
  }

  private async write(ids: string[], value: string, ttlMs: number, onlyIfAbsent: boolean): Promise<void> {
    if (ids.length === 0 || ttlMs <= 0) return;
    if (this.redis.configured) {
      if (!this.redis.ready) return;
      const keys = ids.map((id) => this.keyPrefix + id);
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
    for (const id of ids) {
      const existing = this.memory.get(id);
      if (onlyIfAbsent && existing && existing.until > now) continue;
      if (!existing && this.memory.size >= MAX_ENTRIES) {
        // Oldest first: a Map iterates in insertion order.
        this.memory.delete(this.memory.keys().next().value as string);
      }
      this.memory.set(id, { value, until: now + ttlMs });
    }
  }
}
