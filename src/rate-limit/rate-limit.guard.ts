import { type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Principal } from '../common/principal.js';
import { AppError } from '../common/problem.js';
import { Metrics } from '../metrics/metrics.service.js';

export const AUTH_RATE_LIMIT_KEY = 'ultrai:auth-rate-limit';

/**
 * The stricter limit of the routes that take credentials or check a password
 * with argon2 (login, register, refresh, password change, account deletion):
 * per IP, and per user on authenticated routes. `name` is the route's own
 * counter, spelled out so that renaming a handler cannot merge or reset counts.
 */
export const AuthRateLimit = (name: string): MethodDecorator => SetMetadata(AUTH_RATE_LIMIT_KEY, name);

/** The route's name for the stricter limit, or undefined when it has none. */
export function authLimitName(context: ExecutionContext): string | undefined {
  const name: unknown = Reflect.getMetadata(AUTH_RATE_LIMIT_KEY, context.getHandler());
  return typeof name === 'string' ? name : undefined;
}

/** A 429 as every limit answers it. */
export function rateLimitedError(retryAfterSeconds: number): AppError {
  return new AppError(
    429,
    'rate-limited',
    'Too many requests: wait for Retry-After seconds, then try again.',
    undefined,
    {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    },
  );
}

/** The counter of the global per-user (or per-IP) limit: the guard and CachedReads count the same one. */
export function defaultLimitKey(tracker: string): string {
  return `default:${tracker}`;
}

/** Who a limit counts against: the user when the request carries a valid token, else the client IP. */
export function trackerOf(request: { user?: Principal; ip?: string }): string {
  return request.user ? `user:${request.user.userId}` : `ip:${request.ip ?? 'unknown'}`;
}

/**
 * @nestjs/throttler's guard, answering 429 as problem+json with a plain
 * `Retry-After` (the stock guard names it per throttler), and counting
 * rejections. Runs after the JWT guard, so it knows the user.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: Metrics,
  ) {
    super(options, storage, reflector);
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    this.metrics.rateLimited.inc();
    throw rateLimitedError(detail.timeToBlockExpire);
  }
}
