import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  mixin,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, type Observable, of, switchMap, tap } from 'rxjs';
import type { Principal } from '../common/principal.js';
import { addRouteConfig } from '../common/route-config.js';
import { AppConfig } from '../config/config.js';
import { Metrics } from '../metrics/metrics.service.js';
import { CacheGenerations } from './cache-generations.js';
import { JSON_TYPE, ResponseCache } from './response-cache.js';

export type CacheablePredicate = (body: unknown, request: FastifyRequest, principal: Principal) => boolean;

/** Set in the Fastify route config of every @CachedRead() route (see CachedReads). */
const CACHED_READ = 'cachedRead';

/**
 * A GET route whose answers are cached (cachedResponse) and whose hits the
 * cached-read fast path may answer before Nest's pipeline: the route says so
 * here, where it is defined, and Fastify carries it in the route's config.
 */
export function CachedRead(isOwn?: CacheablePredicate): MethodDecorator {
  return applyDecorators(UseInterceptors(cachedResponse(isOwn)), addRouteConfig({ [CACHED_READ]: true }));
}

/** True when the request's route is a @CachedRead() route. */
export function isCachedRead(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { [CACHED_READ]?: boolean } | undefined)?.[CACHED_READ] === true;
}

/**
 * Serves an authenticated GET from the cache (`X-Cache: HIT`) or runs it and
 * stores a successful answer (`X-Cache: MISS`). Keys hold the user id and the
 * user's cache generation. Only the caller's own data is stored: `isOwn`
 * decides, per route. Errors are never cached (they do not reach `tap`).
 */
function cachedResponse(isOwn: CacheablePredicate = () => true) {
  @Injectable()
  class ResponseCacheInterceptor implements NestInterceptor {
    constructor(
      readonly generations: CacheGenerations,
      readonly cache: ResponseCache,
      readonly metrics: Metrics,
      readonly config: AppConfig,
    ) {}

    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
      const http = context.switchToHttp();
      const request = http.getRequest<FastifyRequest & { user?: Principal }>();
      const reply = http.getResponse<FastifyReply>();
      const principal = request.user;
      if (request.method !== 'GET' || !principal || this.config.cacheTtlMs === 0) return next.handle();

      return from(this.lookup(principal.userId, request)).pipe(
        switchMap(({ key, hit }) => {
          if (hit) {
            this.metrics.cacheHits.inc({ layer: 'pipeline' });
            reply.header('x-cache', 'HIT');
            if (hit.etag) reply.header('etag', hit.etag);
            // JSON text: Fastify sends a string as it is when the type is set.
            reply.type(JSON_TYPE);
            return of(hit.json);
          }
          this.metrics.cacheMisses.inc();
          reply.header('x-cache', 'MISS');
          return next.handle().pipe(
            tap((body) => {
              if (key && reply.statusCode === 200 && isOwn(body, request, principal)) {
                const etag = reply.getHeader('etag');
                // As Fastify serialises it (JSON.stringify), once, on a miss.
                void this.cache.set(principal.userId, key, {
                  json: JSON.stringify(body),
                  etag: typeof etag === 'string' ? etag : undefined,
                });
              }
            }),
          );
        }),
      );
    }

    private async lookup(userId: string, request: FastifyRequest) {
      const generation = await this.generations.current(userId);
      if (generation === undefined) return { key: undefined, hit: undefined };
      const key = this.cache.key(userId, generation, request);
      return { key, hit: await this.cache.get(key) };
    }
  }
  return mixin(ResponseCacheInterceptor);
}
