import KeyvRedis, { Keyv } from '@keyv/redis';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AppConfig } from '../config/config.js';
import { RedisConnection } from './redis.connection.js';

export interface CachedResponse {
  body: unknown;
  etag?: string;
}

/** The Keyv store behind cache-manager: Redis (on the shared connection) or process memory. */
export function createResponseStore(redis: RedisConnection, config: AppConfig): Keyv {
  const namespace = `${config.redisKeyPrefix}resp`;
  const keyv = redis.client
    ? new Keyv({
        store: new KeyvRedis(redis.client, { namespace, throwOnErrors: false }),
        namespace,
        useKeyPrefix: false,
      })
    : new Keyv({ namespace });
  // Errors (Redis down, timeouts) become misses; the service keeps serving.
  keyv.on('error', () => undefined);
  return keyv;
}

/** Cached GET responses, by user, generation and URL. */
@Injectable()
export class ResponseCache {
  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
  ) {}

  key(userId: string, generation: string, url: string): string {
    return `${userId}:${generation}:${url}`;
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    try {
      return (await this.redis.bounded(this.cache.get<CachedResponse>(key))) ?? undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: CachedResponse): Promise<void> {
    try {
      await this.redis.bounded(this.cache.set(key, value, this.config.cacheTtlMs));
    } catch {
      // a cache that cannot store is a cache that misses
    }
  }
}
