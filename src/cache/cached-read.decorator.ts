import type { FastifyRequest } from 'fastify';
import type { Principal } from '../common/principal.js';
import { addRouteConfig } from '../common/route-config.js';

/** Whether a successful answer of a @CachedRead() route is the caller's own data, and so may be cached. */
export type CacheablePredicate = (body: unknown, request: FastifyRequest, principal: Principal) => boolean;

/** The key, in the Fastify route config of every @CachedRead() route, of the route's CacheablePredicate. */
const CACHED_READ = 'cachedRead';
const ALWAYS: CacheablePredicate = () => true;

/**
 * A GET route whose answers are cached (src/cache/cached-reads.ts): a hit is answered
 * before Nest's pipeline, a miss runs it and its answer is stored when `isOwn` says it
 * is the caller's own data. Keys hold the user id and the user's cache generation; errors
 * are never stored. The route says so here, where it is defined, and Fastify carries it in
 * the route's config: no Nest interceptor, whose Observables cost every request of the
 * route, misses and cache-off included, about a quarter of its CPU (measured; README,
 * Performance).
 */
export function CachedRead(isOwn: CacheablePredicate = ALWAYS): MethodDecorator {
  return addRouteConfig({ [CACHED_READ]: isOwn });
}

/** The route's CacheablePredicate when the request's route is a @CachedRead() route. */
export function cachedReadOf(request: FastifyRequest): CacheablePredicate | undefined {
  const isOwn = (request.routeOptions.config as { [CACHED_READ]?: unknown } | undefined)?.[CACHED_READ];
  return typeof isOwn === 'function' ? (isOwn as CacheablePredicate) : undefined;
}
