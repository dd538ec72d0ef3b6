import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config.js';
import { RedisConnection } from '../redis/redis.connection.js';
import { RedisOrMemory } from '../redis/redis-or-memory.js';

/**
 * The stream tickets already used, until they expire: a ticket opens one stream,
 * once, on any instance (SET NX in Redis). Without Redis, or while it does not
 * answer, this instance's memory remembers them (single use per instance then).
 */
@Injectable()
export class UsedTickets {
  private readonly store: RedisOrMemory<number>;

  constructor(redis: RedisConnection, config: AppConfig) {
    this.store = new RedisOrMemory(redis, `${config.redisKeyPrefix}ticket:`, 'memory', { maxEntries: 100_000 });
  }

  /** True the first time a ticket is claimed; false ever after (until it expires anyway). */
  async claim(nonce: string, expiresAtMs: number): Promise<boolean> {
    const ttlMs = Math.max(1, expiresAtMs - Date.now());
    const set = await this.store.inRedis(
      (redis, [key]) => redis.set(key, '1', { expiration: { type: 'PX', value: ttlMs }, condition: 'NX' }),
      nonce,
    );
    if (set !== undefined) {
      // Also remembered here, so a fallback to memory during an outage still knows it.
      if (set !== null) this.store.memory.set(nonce, 1, ttlMs);
      return set !== null;
    }
    if (this.store.memory.get(nonce) !== undefined) return false;
    this.store.memory.set(nonce, 1, ttlMs);
    return true;
  }
}
