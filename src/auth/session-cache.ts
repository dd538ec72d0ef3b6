import { Injectable } from '@nestjs/common';
import { RedisConnection } from '../cache/redis.connection.js';
import { AppConfig } from '../config/config.js';

const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

/**
 * Remembers, for a few seconds, that a session is live and its user enabled,
 * so an authenticated request costs no database round trip. Entries are
 * dropped the moment a session is revoked or its user disabled or deleted.
 *
 * With Redis, the entries are shared, so a revocation on one instance counts
 * on all of them at once; if Redis is down, lookups go to the database.
 * Without Redis, each process keeps its own, and the TTL bounds how long
 * another instance can lag.
 */
@Injectable()
export class SessionCache {
  private readonly memory = new Map<string, { userId: string; until: number }>();

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
  ) {}

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
    return entry.userId;
  }

  async set(sessionId: string, userId: string): Promise<void> {
    if (this.redis.configured) {
      if (!this.redis.ready) return;
      try {
        await this.redis.run((redis) =>
          redis.set(this.key(sessionId), userId, { expiration: { type: 'PX', value: TTL_MS } }),
        );
      } catch {
        // not cached: the next request asks the database again
      }
      return;
    }
    if (this.memory.size >= MAX_ENTRIES) {
      // Oldest first: a Map iterates in insertion order.
      this.memory.delete(this.memory.keys().next().value as string);
    }
    this.memory.set(sessionId, { userId, until: Date.now() + TTL_MS });
  }

  async drop(sessionIds: string[]): Promise<void> {
    for (const id of sessionIds) this.memory.delete(id);
    if (!this.redis.configured || sessionIds.length === 0) return;
    try {
      await this.redis.run((redis) => redis.del(sessionIds.map((id) => this.key(id))));
    } catch {
      // Redis is down: its entries expire within the TTL
    }
  }

  private key(sessionId: string): string {
    return `${this.config.redisKeyPrefix}sess:${sessionId}`;
  }
}
