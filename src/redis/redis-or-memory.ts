import type { RedisClientType } from '@keyv/redis';
import type { RedisConnection } from './redis.connection.js';

/**
 * What a store does while REDIS_URL is set but Redis does not answer, chosen by
 * each store for what it keeps:
 * - `memory`: carry on in this process's memory (a rate limit must keep counting);
 * - `without`: do without the store (the session cache then asks the database, the
 *   cache generations make their user's reads bypass the cache).
 */
export type WhenRedisDown = 'memory' | 'without';

/** Where a store's next operation goes. */
export type StoreBackend = 'redis' | 'memory' | 'none';

const SWEEP_EVERY_MS = 60_000;

/**
 * Entries that expire, in this process's memory. Expired entries are dropped when
 * read, and all of them once a minute when written; with `maxEntries`, the oldest
 * entry makes room for a new one.
 */
export class MemoryEntries<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private lastSweep = Date.now();

  constructor(private readonly maxEntries = Infinity) {}

  /** The live entry (its value and when it expires), if any: the stored object, which a caller may update. */
  entry(id: string, now = Date.now()): { value: V; until: number } | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  get(id: string): V | undefined {
    return this.entry(id)?.value;
  }

  /** Stores `value` for `ttlMs` (Infinity: until replaced), replacing what was there. */
  set(id: string, value: V, ttlMs = Infinity, now = Date.now()): { value: V; until: number } {
    if (now - this.lastSweep > SWEEP_EVERY_MS) {
      for (const [key, entry] of this.entries) if (entry.until <= now) this.entries.delete(key);
      this.lastSweep = now;
    }
    if (!this.entries.has(id) && this.entries.size >= this.maxEntries) {
      // Oldest first: a Map iterates in insertion order.
      this.entries.delete(this.entries.keys().next().value as string);
    }
    const entry = { value, until: now + ttlMs };
    this.entries.set(id, entry);
    return entry;
  }

  delete(id: string): void {
    this.entries.delete(id);
  }
}

/**
 * One store's state, in Redis when REDIS_URL is set (shared by every instance,
 * under REDIS_KEY_PREFIX and the store's own namespace), else in this process's
 * memory. The session cache, the cache generations and the rate-limit counters
 * each hold one, and choose what happens while Redis is down (`WhenRedisDown`).
 *
 * Redis commands never hang a caller (RedisConnection bounds them by
 * REDIS_COMMAND_TIMEOUT_MS): `inRedis` answers undefined when Redis did not
 * answer, and the store falls back as it chose.
 */
export class RedisOrMemory<V> {
  readonly memory: MemoryEntries<V>;

  constructor(
    private readonly redis: RedisConnection,
    /** REDIS_KEY_PREFIX followed by the store's namespace, e.g. `sess:`. */
    private readonly prefix: string,
    private readonly whenDown: WhenRedisDown,
    memory: { maxEntries?: number } = {},
  ) {
    this.memory = new MemoryEntries<V>(memory.maxEntries);
  }

  /** Where the next operation goes: Redis when it answers, else as the store chose. */
  get backend(): StoreBackend {
    if (!this.redis.configured) return 'memory';
    if (this.redis.ready) return 'redis';
    return this.whenDown === 'memory' ? 'memory' : 'none';
  }

  /** The Redis key of an id. */
  key(id: string): string {
    return `${this.prefix}${id}`;
  }

  /**
   * Runs a command on the ids' keys in Redis; undefined when Redis is not there to
   * run it (not ready, refused, timed out). Commands answer null, never undefined.
   */
  async inRedis<T>(
    command: (redis: RedisClientType, keys: string[]) => Promise<T>,
    ...ids: string[]
  ): Promise<T | undefined> {
    if (!this.redis.ready) return undefined;
    try {
      return await this.redis.run((redis) =>
        command(
          redis,
          ids.map((id) => this.key(id)),
        ),
      );
    } catch {
      return undefined;
    }
  }

  /** A script that must write even when Redis is full (see RedisConnection.evalEvenWhenFull); rejects when Redis did not run it. */
  evalEvenWhenFull(script: string, ids: string[], args: string[]): Promise<unknown> {
    return this.redis.evalEvenWhenFull(
      script,
      ids.map((id) => this.key(id)),
      args,
    );
  }
}
