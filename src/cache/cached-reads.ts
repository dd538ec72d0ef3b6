import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import { requiredScopeOf } from '../auth/scopes.decorator.js';
import type { AppConfig } from '../config/config.js';
import type { EdgeStep } from '../edge/edge-step.js';
import { Metrics } from '../metrics/metrics.service.js';
import { RateLimitStorage } from '../rate-limit/rate-limit.storage.js';
import { CacheGenerations } from './cache-generations.js';
import { isCachedRead } from './response-cache.interceptor.js';
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
 * Cache hits answered from a Fastify onRequest hook, before Nest's guards and
 * interceptors, which cost several times the hit itself. It only ever answers
 * what the full pipeline would answer with a HIT, and hands everything else to it:
 *
 * - the credential must pass the Authenticator, as for the guard, with its session
 *   (or personal access token) found live in its cache (the cache that revocation,
 *   logout, password change and disabling clear), and a token's scopes must open the
 *   route (@RequireScope, read from the same route config as the guard): no database
 *   read here;
 * - the answer must be in the response cache under the user's current generation
 *   and the same normalised URL (cache-key.ts): it was stored by a @CachedRead() route,
 *   which stores only the caller's own data;
 * - the per-user rate limit is counted as the guard counts it (same key, limit and
 *   window) and only then, once a hit is certain; a request over the limit goes to the
 *   pipeline, which answers 429 (counting it once more, which changes nothing for a
 *   client already over the limit).
 *
 * Anything missing or unusual (no token, an expired one, a cold session cache, a
 * miss, Redis down) takes the full pipeline, which decides as it always does.
 */
export class CachedReads {
  constructor(private readonly deps: CachedReadsDeps) {}

  /**
   * Runs for every request: the method, an Authorization header and the setting first;
   * the route last (Fastify builds a new routeOptions object on each read).
   */
  eligible(request: FastifyRequest): boolean {
    return (
      request.method === 'GET' &&
      typeof request.headers.authorization === 'string' &&
      this.deps.config.cacheTtlMs > 0 &&
      isCachedRead(request)
    );
  }

  /** Sends the cached answer and returns true, or returns false (nothing sent) for the pipeline. */
  async answer(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const { authenticator, generations, cache, limits, config, metrics } = this.deps;
    // The session and the user's cache generation are read in parallel: one round trip.
    const authenticated = await authenticator.authenticateCached(
      request.headers.authorization,
      requiredScopeOf(request),
      (claimed) => generations.current(claimed.userId),
    );
    if (!authenticated || authenticated.alongside === undefined) return false;
    const { principal, alongside: generation } = authenticated;
    const hit: CachedResponse | undefined = await cache.get(cache.key(principal.userId, generation, request));
    if (!hit) return false;
    const limit = config.rateLimitMax;
    const counted = await limits.increment(
      defaultLimitKey(trackerOf({ user: principal })),
      config.rateLimitWindowMs,
      limit,
    );
    if (counted.isBlocked) return false;

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
}

/** The edge step answering cache hits before the pipeline (an onRequest hook). */
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
    fastify.addHook('onRequest', (request, reply, done) => {
      if (!reads.eligible(request)) return done();
      reads.answer(request, reply).then(
        (answered) => answered || done(),
        () => done(),
      );
    });
  },
};
