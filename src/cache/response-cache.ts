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

/** ResponseCache.admit in Redis: KEYS[1] the user's set of stored keys; ARGV: key, TTL (ms), cap. */
const ADMIT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
  redis.call('SADD', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Cached GET responses, by user, generation and (normalised) URL. */
@Injectable()
export class ResponseCache {
  /** Without Redis: the keys stored per user, as the Redis set below holds them. */
  private readonly stored = new Map<string, { keys: Set<string>; expiresAt: number }>();
  private lastSweep = Date.now();
  /** The Redis adapter under Keyv, when the answers are in Redis: it names their keys. */
  private readonly inRedis: KeyvRedis<unknown> | undefined;

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
  ) {
    const store: unknown = cache.stores[0]?.store;
    this.inRedis = store instanceof KeyvRedis ? store : undefined;
  }

  key(userId: string, generation: string, request: CacheKeyRequest): string {
    return `${userId}:${generation}:${cacheUrl(request, userId)}`;
  }

  /**
   * The Redis key `get` reads an answer from (as KeyvRedis names it), for a script that
   * reads it with more (RateLimitStorage.incrementIfPresent): undefined without Redis.
   */
  redisKey(key: string): string | undefined {
    return this.inRedis?.createKeyPrefix(key, this.inRedis.namespace);
  }

  /** An answer's text as stored in Redis, as `get` answers it: undefined when expired or not an answer. */
  static parse(text: string): CachedResponse | undefined {
    try {
      const data = deserializeEntry(text);
      // Keyv's own check on a read: Redis expires the key at the same time, this covers the last instant.
      if (typeof data?.expires === 'number' && Date.now() > data.expires) return undefined;
      const entry = data?.value as Partial<CachedResponse> | undefined;
      return typeof entry?.json === 'string' ? (entry as CachedResponse) : undefined;
    } catch {
      return undefined;
    }
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
        this.admit(userId, key),
        this.redis.bounded(this.cache.set(key, value, this.config.cacheTtlMs)),
      ]);
      if (!admitted) await this.redis.bounded(this.cache.del(key));
    } catch {
      // a cache that cannot store is a cache that misses
    }
  }

  /**
   * At most CACHE_MAX_ENTRIES_PER_USER entries per user at a time: the set of the keys
   * stored, whose expiry moves to the last store's, so when it lapses every entry it
   * holds has expired too. A key stored again (say, by the 50 clients that all missed
   * when an entry expired) counts once. Past the cap answers are not stored (they are
   * still served) and the set is left as it is, so it lapses with the last entry stored.
   */
  private async admit(userId: string, key: string): Promise<boolean> {
    const ttl = this.config.cacheTtlMs;
    const cap = this.config.cacheMaxEntriesPerUser;
    if (!this.redis.configured) {
      const now = Date.now();
      if (now - this.lastSweep > SWEEP_EVERY_MS) {
        for (const [id, entry] of this.stored) if (entry.expiresAt <= now) this.stored.delete(id);
        this.lastSweep = now;
      }
      let entry = this.stored.get(userId);
      if (!entry || entry.expiresAt <= now) this.stored.set(userId, (entry = { keys: new Set(), expiresAt: now }));
      if (!entry.keys.has(key)) {
        if (entry.keys.size >= cap) return false;
        entry.keys.add(key);
      }
      entry.expiresAt = now + ttl;
      return true;
    }
    const keys = `${this.config.redisKeyPrefix}resp-keys:${userId}`;
    const admitted = await this.redis.run((redis) =>
      redis.eval(ADMIT, { keys: [keys], arguments: [key, String(ttl), String(cap)] }),
    );
    return admitted === 1;
  }
}
