import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../common/principal.js';
import { requiredScopeOf } from '../auth/scopes.decorator.js';
import type { AppConfig } from '../config/config.js';
import type { EdgeStep } from '../edge/edge-step.js';
import { Metrics } from '../metrics/metrics.service.js';
import { RateLimitStorage } from '../rate-limit/rate-limit.storage.js';
import { CacheGenerations } from './cache-generations.js';
import { type CacheablePredicate, cachedReadOf } from './cached-read.decorator.js';
import { defaultLimitKey, trackerOf } from '../rate-limit/rate-limit.guard.js';
import { type CachedResponse, JSON_TYPE, ResponseCache } from './response-cache.js';

export interface CachedReadsDeps {
  config: AppConfig;
  authenticator: Authenticator;
  generations: CacheGenerations;
  cache: ResponseCache;
  limits: RateLimitStorage;
  metrics: Metrics;
}

/**
 * The response cache of @CachedRead() routes, in Fastify hooks around Nest's pipeline.
 *
 * Hits are answered from an onRequest hook, before Nest's guards, which cost several
 * times the hit itself. It only ever answers what the full pipeline would answer, and
 * hands everything else to it:
 *
 * - the credential must pass the Authenticator, as for the guard, with its session
 *   (or personal access token) found live in its cache (the cache that revocation,
 *   logout, password change and disabling clear), and a token's scopes must open the
 *   route (@RequireScope, read from the same route config as the guard): no database
 *   read here;
 * - the answer must be in the response cache under the user's current generation
 *   and the same normalised URL (cache-key.ts): it was stored by this route, for this
 *   user, as the caller's own data;
 * - the per-user rate limit is counted as the guard counts it (same key, limit and
 *   window) and only then, once a hit is certain (in Redis, by the script that reads the
 *   answer: one round trip for both); a request over the limit goes to the
 *   pipeline, which answers 429 (counting it once more, which changes nothing for a
 *   client already over the limit).
 *
 * Anything missing or unusual (no token, an expired one, a cold session cache, a
 * miss, Redis down) takes the full pipeline, which decides as it always does, and is a
 * miss (`X-Cache: MISS` once the guard has authenticated the caller). A miss's answer is
 * stored when it is a 200 for the user the token named, the route's `isOwn` accepts it,
 * and the user's generation could be read in onRequest, before the handler ran: a write
 * during the handler moves the generation on, so what the handler read is stored under
 * the old one and never served. It is stored as the JSON text Fastify sends (onSend).
 */
export class CachedReads {
  constructor(private readonly deps: CachedReadsDeps) {}

  /**
   * The route's CacheablePredicate when the request may be cached. Runs for every request:
   * the method, an Authorization header and the setting first; the route last (Fastify
   * builds a new routeOptions object on each read).
   */
  eligible(request: FastifyRequest): CacheablePredicate | undefined {
    return request.method === 'GET' &&
      typeof request.headers.authorization === 'string' &&
      this.deps.config.cacheTtlMs > 0
      ? cachedReadOf(request)
      : undefined;
  }

  /**
   * Sends the cached answer and returns true, or returns false (nothing sent) for the
   * pipeline, with what a miss needs to be stored left on the request.
   */
  async answer(request: CacheableRequest, reply: FastifyReply, isOwn: CacheablePredicate): Promise<boolean> {
    const { authenticator, generations, cache, config, metrics } = this.deps;
    const miss: Miss = { isOwn, userId: undefined, key: undefined, store: false };
    request.cachedReadMiss = miss;
    // The session and the user's cache generation are read in parallel: one round trip.
    const authenticated = await authenticator.authenticateCached(
      request.headers.authorization,
      requiredScopeOf(request),
      async (claimed) => {
        const generation = await generations.current(claimed.userId);
        if (generation !== undefined) {
          miss.userId = claimed.userId;
          miss.key = cache.key(claimed.userId, generation, request);
        }
        return generation;
      },
    );
    // authenticateCached answers only for the user the token names: the one the key is for.
    if (!authenticated || miss.key === undefined) return false;
    const limit = config.rateLimitMax;
    const found = await this.hitCounted(miss.key, defaultLimitKey(trackerOf({ user: authenticated.principal })));
    if (!found) return false;
    const { hit, counted } = found;
    if (counted.isBlocked) return false;

    request.cachedReadMiss = null;
    metrics.cacheHits.inc({ layer: 'edge' });
    reply
      .header('x-ratelimit-limit', limit)
      .header('x-ratelimit-remaining', Math.max(0, limit - counted.totalHits))
      .header('x-ratelimit-reset', counted.timeToExpire)
      .header('x-cache', 'HIT');
    if (hit.etag) reply.header('etag', hit.etag);
    void reply.type(JSON_TYPE).send(hit.json);
    return true;
  }

  /**
   * The cached answer, and the rate limit counted for it: only once there is one, so a miss
   * is counted by the guard alone. In Redis one script reads the answer and counts (one
   * round trip instead of two); without Redis's answer, the cache, then the limit. A script
   * that ran but whose reply timed out is counted again by the pipeline's guard: a second
   * count in an outage, never a missed one.
   */
  private async hitCounted(
    key: string,
    limitKey: string,
  ): Promise<{ hit: CachedResponse; counted: Awaited<ReturnType<RateLimitStorage['increment']>> } | undefined> {
    const { cache, limits, config } = this.deps;
    const entryKey = cache.redisKey(key);
    const together =
      entryKey === undefined
        ? undefined
        : await limits.incrementIfPresent(entryKey, limitKey, config.rateLimitWindowMs, config.rateLimitMax);
    if (together === null) return undefined;
    if (together) {
      const hit = ResponseCache.parse(together.entry);
      return hit && { hit, counted: together.record };
    }
    const hit = await cache.get(key);
    if (!hit) return undefined;
    return { hit, counted: await limits.increment(limitKey, config.rateLimitWindowMs, config.rateLimitMax) };
  }

  /** preSerialization of a miss the pipeline answered with a body: marks it, and decides whether to store it. */
  answeredByPipeline(request: CacheableRequest, reply: FastifyReply, body: unknown): void {
    const miss = request.cachedReadMiss;
    const principal = request.user;
    // Not authenticated by the guard: refused, not a miss (as before the handler runs).
    if (!miss || !principal) return;
    this.deps.metrics.cacheMisses.inc();
    reply.header('x-cache', 'MISS');
    miss.store =
      miss.key !== undefined &&
      miss.userId === principal.userId &&
      reply.statusCode === 200 &&
      miss.isOwn(body, request, principal);
  }

  /** onSend: stores a miss's answer as the JSON text it is sent as. */
  sending(request: CacheableRequest, reply: FastifyReply, payload: unknown): void {
    const miss = request.cachedReadMiss;
    if (!miss?.store || typeof payload !== 'string') return;
    request.cachedReadMiss = null;
    const etag = reply.getHeader('etag');
    void this.deps.cache.set(miss.userId!, miss.key!, {
      json: payload,
      etag: typeof etag === 'string' ? etag : undefined,
    });
  }
}

/** What the edge learnt of a cacheable request it could not answer. */
interface Miss {
  isOwn: CacheablePredicate;
  /** The user the token names, and the cache key under their generation read before the handler ran. */
  userId: string | undefined;
  key: string | undefined;
  /** Set when the pipeline's answer is to be stored. */
  store: boolean;
}

type CacheableRequest = FastifyRequest & { user?: Principal; cachedReadMiss: Miss | null };

/** The response cache's hooks (onRequest, preSerialization, onSend). */
export const cachedReads: EdgeStep = {
  name: 'cached reads',
  register({ app, fastify, config }) {
    const reads = new CachedReads({
      config,
      authenticator: app.get(Authenticator),
      generations: app.get(CacheGenerations),
      cache: app.get(ResponseCache),
      limits: app.get(RateLimitStorage),
      metrics: app.get(Metrics),
    });
    // Every request has the property from the start (one shape for Fastify's requests).
    fastify.decorateRequest('cachedReadMiss', null);
    fastify.addHook('onRequest', (request, reply, done) => {
      const isOwn = reads.eligible(request);
      if (!isOwn) return done();
      reads.answer(request as CacheableRequest, reply, isOwn).then(
        (answered) => answered || done(),
        () => done(),
      );
    });
    fastify.addHook('preSerialization', (request, reply, payload, done) => {
      if ((request as CacheableRequest).cachedReadMiss)
        reads.answeredByPipeline(request as CacheableRequest, reply, payload);
      done(null, payload);
    });
    fastify.addHook('onSend', (request, reply, payload, done) => {
      if ((request as CacheableRequest).cachedReadMiss) reads.sending(request as CacheableRequest, reply, payload);
      done(null, payload);
    });
  },
};
