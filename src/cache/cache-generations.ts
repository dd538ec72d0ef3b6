import { Injectable } from '@nestjs/common';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { RedisOrMemory } from '../redis/redis-or-memory.js';
import { RedisConnection } from '../redis/redis.connection.js';

const BUMP = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

const REPLAY_RETRY_MS = 1000;

/**
 * A number per user that is part of every cache key of theirs. Any write by
 * or about a user increments it (one INCR, no scan), so all their cached
 * responses become unreachable at once, on every instance.
 *
 * If Redis is down when a write happens, the increment is remembered and
 * replayed as soon as Redis is back; until then this instance bypasses the
 * cache for that user, so nobody reads a stale entry here. A read for that user
 * while the replay is under way waits for it (one round trip), and a replay
 * that fails (say, it timed out) is tried again while Redis stays up, so the
 * user is not left bypassing the cache until the next reconnection.
 */
@Injectable()
export class CacheGenerations {
  /** Without Redis's answer, the user's reads bypass the cache until the increment is replayed. */
  private readonly store: RedisOrMemory<number>;
  /** Users whose increment failed, with a count of failures: a replay clears only what it covered. */
  private readonly pending = new Map<string, number>();
  /** The replay under way, if any. */
  private replaying: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.store = new RedisOrMemory(redis, `${config.redisKeyPrefix}gen:`, 'without');
    redis.onReady(() => void this.replay());
  }

  /** The user's current generation, or undefined when the cache must be bypassed. */
  async current(userId: string): Promise<string | undefined> {
    switch (this.store.backend) {
      case 'memory':
        return String(this.store.memory.get(userId) ?? 0);
      case 'redis': {
        if (this.pending.has(userId)) {
          if (this.replaying) await this.replaying;
          if (this.pending.has(userId)) return undefined;
        }
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
      this.pending.set(userId, (this.pending.get(userId) ?? 0) + 1);
    }
  }

  /** Replays the pending increments (all at once: node-redis pipelines them), at most one replay at a time. */
  private replay(): Promise<void> {
    this.replaying ??= this.replayPending().finally(() => {
      this.replaying = undefined;
    });
    return this.replaying;
  }

  private async replayPending(): Promise<void> {
    clearTimeout(this.retry);
    const results = await Promise.allSettled(
      [...this.pending].map(async ([userId, failures]) => {
        await this.increment(userId);
        // A write that failed to increment meanwhile stays pending for the next replay.
        if (this.pending.get(userId) === failures) this.pending.delete(userId);
      }),
    );
    if (!results.some((result) => result.status === 'rejected')) return;
    this.logger.warn('Could not replay a cache invalidation; will retry', 'Cache');
    // Again in a moment if Redis is still up; if it is down, its next ready event replays.
    this.retry = setTimeout(() => {
      if (this.store.backend === 'redis') void this.replay();
    }, REPLAY_RETRY_MS).unref();
  }

  /** One increment in Redis, or a rejection (the CLI, which has no later, reports it). */
  async increment(userId: string): Promise<void> {
    // The generation outlives every entry built on it, then expires. It must move
    // even when Redis is full (noeviction), or other instances would keep serving
    // the old answers.
    await this.store.evalEvenWhenFull(BUMP, [userId], [String(this.config.cacheTtlMs * 4 + 60_000)]);
  }
}
