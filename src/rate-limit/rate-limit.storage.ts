import { Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { AppConfig } from '../config/config.js';
import { RedisOrMemory } from '../redis/redis-or-memory.js';
import { RedisConnection } from '../redis/redis.connection.js';

/**
 * Increment, set the window's expiry on the first hit, and report the count
 * and the time left, in one atomic step, so instances sharing Redis share
 * the counters exactly.
 *
 * Eviction must never reset a limit. Every key we write has a TTL, counters
 * too, so with `volatile-lru` a flood of cached answers could evict a login
 * counter mid-window and give its IP a fresh allowance. The Blueprint therefore
 * runs Key Value with `noeviction`: nothing is evicted; when Redis is full it
 * refuses writes, which costs only cache entries (a refused entry is a miss).
 * A refused counter would fall back to this process's memory and start again at
 * zero, so the script runs even when Redis is full (RedisConnection.evalEvenWhenFull):
 * counters keep counting in Redis (a few bytes each, expiring with their window).
 */
const COUNT = (key: string, window: string): string => `
local hits = redis.call('INCR', ${key})
if hits == 1 then redis.call('PEXPIRE', ${key}, ${window}) end
local ttl = redis.call('PTTL', ${key})
if ttl < 0 then
  redis.call('PEXPIRE', ${key}, ${window})
  ttl = tonumber(${window})
end`;
const INCREMENT = `${COUNT('KEYS[1]', 'ARGV[1]')}
return { hits, ttl }`;

/**
 * INCREMENT on KEYS[2], only when KEYS[1] holds a value, which is answered with the count
 * (false, nothing counted, when it holds none): a cached answer read and counted in one
 * round trip (incrementIfPresent).
 */
const INCREMENT_IF_PRESENT = `
local entry = redis.call('GET', KEYS[1])
if not entry then return false end${COUNT('KEYS[2]', 'ARGV[1]')}
return { entry, hits, ttl }`;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Fixed-window counters for @nestjs/throttler: in Redis when it is
 * configured and answering, otherwise (or while it is down) in this
 * process's memory, which is right for a single instance only.
 */
@Injectable()
export class RateLimitStorage implements ThrottlerStorage {
  /** Without Redis's answer, counting goes on in this process's memory: a limit never stops counting. */
  private readonly store: RedisOrMemory<number>;

  constructor(
    private readonly redis: RedisConnection,
    config: AppConfig,
  ) {
    this.store = new RedisOrMemory(redis, `${config.redisKeyPrefix}rl:`, 'memory');
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const { hits, ttlMs } = (await this.incrementInRedis(key, ttl)) ?? this.incrementInMemory(key, ttl);
    return record(hits, ttlMs, limit);
  }

  /**
   * Counts a hit against `key` as `increment` does, but only when the Redis key `entryKey`
   * (another store's, whole) holds a value, and answers that value with the count, in one
   * round trip: null when it holds none (nothing counted); undefined when Redis did not run
   * it (not configured, down, timed out), for the caller to read and count apart.
   */
  async incrementIfPresent(
    entryKey: string,
    key: string,
    ttl: number,
    limit: number,
  ): Promise<{ entry: string; record: ThrottlerStorageRecord } | null | undefined> {
    if (this.store.backend !== 'redis') return undefined;
    try {
      const reply = (await this.redis.evalEvenWhenFull(
        INCREMENT_IF_PRESENT,
        [entryKey, this.store.key(key)],
        [String(ttl)],
      )) as [string, number, number] | null;
      if (reply === null) return null;
      const [entry, hits, ttlMs] = reply;
      return { entry, record: record(hits, ttlMs, limit) };
    } catch {
      return undefined;
    }
  }

  /** How long `key` stays blocked, in ms (0: not blocked). */
  async blockedFor(key: string): Promise<number> {
    const inRedis = await this.store.inRedis((redis, [k]) => redis.pTTL(k), key);
    if (inRedis !== undefined) return Math.max(0, inRedis);
    const now = Date.now();
    const entry = this.store.memory.entry(key, now);
    return entry ? Math.max(0, entry.until - now) : 0;
  }

  /** Blocks `key` for `ms`, replacing any block it had. */
  async block(key: string, ms: number): Promise<void> {
    const set = await this.store.inRedis(
      (redis, [k]) => redis.set(k, '1', { expiration: { type: 'PX', value: ms } }),
      key,
    );
    if (set === undefined) this.store.memory.set(key, 0, ms);
  }

  /** Forgets a counter or a block. */
  async reset(key: string): Promise<void> {
    this.store.memory.delete(key);
    await this.store.inRedis((redis, [k]) => redis.del(k), key);
  }

  private async incrementInRedis(key: string, ttl: number): Promise<{ hits: number; ttlMs: number } | undefined> {
    if (this.store.backend !== 'redis') return undefined;
    try {
      const [hits, ttlMs] = (await this.store.evalEvenWhenFull(INCREMENT, [key], [String(ttl)])) as [number, number];
      return { hits, ttlMs };
    } catch {
      return undefined;
    }
  }

  private incrementInMemory(key: string, ttl: number): { hits: number; ttlMs: number } {
    const now = Date.now();
    const entry = this.store.memory.entry(key, now) ?? this.store.memory.set(key, 0, ttl, now);
    entry.value += 1;
    return { hits: entry.value, ttlMs: entry.until - now };
  }
}

function record(hits: number, ttlMs: number, limit: number): ThrottlerStorageRecord {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  const blocked = hits > limit;
  return { totalHits: hits, timeToExpire: seconds, isBlocked: blocked, timeToBlockExpire: blocked ? seconds : 0 };
}
