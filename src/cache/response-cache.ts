import KeyvRedis, { Keyv } from '@keyv/redis';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { DeserializedData, KeyvOptions } from 'keyv';
import { AppConfig } from '../config/config.js';
import { type CacheKeyRequest, cacheUrl } from './cache-key.js';
import { RedisConnection } from '../redis/redis.connection.js';

/** A cached answer, stored as the JSON text it is sent as: a hit is sent without parsing or serialising. */
export interface CachedResponse {
  json: string;
  etag?: string;
}

const RESPONSE_MARK = 'R\n';

/** The type of every cached answer (they are all JSON). */
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Keyv's default format is JSON around the value: a cached answer (already JSON text)
 * would be escaped on every write and parsed on every hit. Answers are stored as
 * `R`, expiry, ETag and the JSON text on their own lines instead (an ETag holds no
 * newline), so a hit is three slices. Any other value is JSON as usual.
 */
export function serializeEntry(data: DeserializedData<unknown>): string {
  const value = data.value as Partial<CachedResponse> | undefined;
  if (typeof value?.json === 'string' && (value.etag === undefined || typeof value.etag === 'string')) {
    return `${RESPONSE_MARK}${data.expires ?? ''}\n${value.etag ?? ''}\n${value.json}`;
  }
  return JSON.stringify(data);
}

export function deserializeEntry(text: string): DeserializedData<unknown> | undefined {
  if (!text.startsWith(RESPONSE_MARK)) return JSON.parse(text) as DeserializedData<unknown>;
  const afterExpires = text.indexOf('\n', RESPONSE_MARK.length);
  const afterEtag = text.indexOf('\n', afterExpires + 1);
  if (afterExpires < 0 || afterEtag < 0) return undefined;
  const expires = text.slice(RESPONSE_MARK.length, afterExpires);
  const etag = text.slice(afterExpires + 1, afterEtag);
  const value: CachedResponse = { json: text.slice(afterEtag + 1), ...(etag ? { etag } : {}) };
  return { value, expires: expires ? Number(expires) : undefined };
}

/** The Keyv store behind cache-manager: Redis (on the shared connection) or process memory. */
export function createResponseStore(redis: RedisConnection, config: AppConfig): Keyv {
  const namespace = `${config.redisKeyPrefix}resp`;
  const format = { serialize: serializeEntry, deserialize: deserializeEntry } as Pick<
    KeyvOptions,
    'serialize' | 'deserialize'
  >;
  const keyv = redis.client
    ? new Keyv({
        store: new KeyvRedis(redis.client, { namespace, throwOnErrors: false }),
        namespace,
        useKeyPrefix: false,
        ...format,
      })
    : new Keyv({ namespace, ...format });
  // Errors (Redis down, timeouts) become misses; the service keeps serving.
  keyv.on('error', () => undefined);
  return keyv;
}

const SWEEP_EVERY_MS = 60_000;

/** Cached GET responses, by user, generation and (normalised) URL. */
@Injectable()
export class ResponseCache {
  /** Without Redis: entries stored per user, as the Redis counter below counts them. */
  private readonly stored = new Map<string, { count: number; expiresAt: number }>();
  private lastSweep = Date.now();

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
  ) {}

  key(userId: string, generation: string, request: CacheKeyRequest): string {
    return `${userId}:${generation}:${cacheUrl(request, userId)}`;
  }

  async get(key: string): Promise<CachedResponse | undefined> {
    try {
      const entry = await this.redis.bounded(this.cache.get<CachedResponse>(key));
      // Anything else (say, an entry in an older format) is a miss.
      return typeof entry?.json === 'string' ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  async set(userId: string, key: string, value: CachedResponse): Promise<void> {
    try {
      // Both sent at once, so the entry is in place as soon as it would have been
      // without the count (the next request for it may follow right away); one over
      // the cap is removed again.
      const [admitted] = await Promise.all([
        this.admit(userId),
        this.redis.bounded(this.cache.set(key, value, this.config.cacheTtlMs)),
      ]);
      if (!admitted) await this.redis.bounded(this.cache.del(key));
    } catch {
      // a cache that cannot store is a cache that misses
    }
  }

  /**
   * At most CACHE_MAX_ENTRIES_PER_USER entries per user at a time: a counter of the
   * entries stored, whose expiry moves to the last one's, so when it lapses every
   * entry it counted has expired too. Past the cap answers are not stored (they
   * are still served); the user's entries age out and the count starts again.
   */
  private async admit(userId: string): Promise<boolean> {
    const ttl = this.config.cacheTtlMs;
    if (!this.redis.configured) {
      const now = Date.now();
      if (now - this.lastSweep > SWEEP_EVERY_MS) {
        for (const [id, entry] of this.stored) if (entry.expiresAt <= now) this.stored.delete(id);
        this.lastSweep = now;
      }
      const entry = this.stored.get(userId);
      const count = entry && entry.expiresAt > now ? entry.count + 1 : 1;
      this.stored.set(userId, { count, expiresAt: now + ttl });
      return count <= this.config.cacheMaxEntriesPerUser;
    }
    const key = `${this.config.redisKeyPrefix}resp-count:${userId}`;
    const [count] = await this.redis.run((redis) => redis.multi().incr(key).pExpire(key, ttl).exec());
    return Number(count) <= this.config.cacheMaxEntriesPerUser;
  }
}
