import KeyvRedis, { Keyv } from '@keyv/redis';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { DeserializedData, KeyvOptions } from 'keyv';
import { AppConfig } from '../config/config.js';
import { RedisConnection } from './redis.connection.js';

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
      const entry = await this.redis.bounded(this.cache.get<CachedResponse>(key));
      // Anything else (say, an entry in an older format) is a miss.
      return typeof entry?.json === 'string' ? entry : undefined;
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
