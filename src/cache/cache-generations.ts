import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { RedisOrMemory } from '../redis/redis-or-memory.js';
import { RedisConnection } from '../redis/redis.connection.js';

const BUMP = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/**
 * A number per user that is part of every cache key of theirs. Any write by
 * or about a user increments it (one INCR, no scan), so all their cached
 * responses become unreachable at once, on every instance.
 *
 * If Redis is down when a write happens, the increment is remembered and
 * replayed as soon as Redis is back; until then this instance bypasses the
 * cache for that user, so nobody reads a stale entry here.
 */
@Injectable()
export class CacheGenerations {
  /** Without Redis's answer, the user's reads bypass the cache until the increment is replayed. */
  private readonly store: RedisOrMemory<number>;
  private readonly pending = new Set<string>();

  constructor(
    redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.store = new RedisOrMemory(redis, `${config.redisKeyPrefix}gen:`, 'without');
    redis.onReady(() => void this.replayPending());
  }

  /** The user's current generation, or undefined when the cache must be bypassed. */
  async current(userId: string): Promise<string | undefined> {
    switch (this.store.backend) {
      case 'memory':
        return String(this.store.memory.get(userId) ?? 0);
      case 'redis': {
        if (this.pending.has(userId)) return undefined;
        // null: never bumped (generation 0); undefined: Redis did not answer.
        const generation = await this.store.inRedis((redis, [key]) => redis.get(key), userId);
        return generation === undefined ? undefined : (generation ?? '0');
      }
      case 'none':
        return undefined;
    }
  }

  async bump(userId: string): Promise<void> {
    if (this.store.backend === 'memory') {
      this.store.memory.set(userId, (this.store.memory.get(userId) ?? 0) + 1);
      return;
    }
    try {
      await this.increment(userId);
    } catch {
      this.pending.add(userId);
    }
  }

  private async replayPending(): Promise<void> {
    for (const userId of [...this.pending]) {
      try {
        await this.increment(userId);
        this.pending.delete(userId);
      } catch {
        this.logger.warn('Could not replay a cache invalidation; will retry when Redis is ready again', 'Cache');
        return;
      }
    }
  }

  /** One increment in Redis, or a rejection (the CLI, which has no later, reports it). */
  async increment(userId: string): Promise<void> {
    // The generation outlives every entry built on it, then expires. It must move
    // even when Redis is full (noeviction), or other instances would keep serving
    // the old answers.
    await this.store.evalEvenWhenFull(BUMP, [userId], [String(this.config.cacheTtlMs * 4 + 60_000)]);
  }
}
