import { type ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
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

const authLimitNames = new WeakMap<object, string | undefined>();

/** The route's name for the stricter limit, or undefined when it has none (read once per handler). */
export function authLimitName(context: ExecutionContext): string | undefined {
  const handler = context.getHandler();
  if (authLimitNames.has(handler)) return authLimitNames.get(handler);
  const name: unknown = Reflect.getMetadata(AUTH_RATE_LIMIT_KEY, handler);
  const value = typeof name === 'string' ? name : undefined;
  authLimitNames.set(handler, value);
  return value;
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

type Throttler = ThrottlerOptions;

/** What one throttler counts on a route: its settings there, resolved once (see RateLimitGuard.plan). */
interface Step {
  throttler: Throttler;
  limit: number;
  ttl: number;
  blockDuration: number;
  getTracker: NonNullable<Throttler['getTracker']>;
  generateKey: NonNullable<Throttler['generateKey']>;
}

/** @nestjs/throttler's per-route settings (@Throttle, @SkipThrottle), read as its guard reads them. */
const ROUTE_SETTINGS = {
  skip: 'THROTTLER:SKIP',
  limit: 'THROTTLER:LIMIT',
  ttl: 'THROTTLER:TTL',
  blockDuration: 'THROTTLER:BLOCK_DURATION',
  getTracker: 'THROTTLER:TRACKER',
  generateKey: 'THROTTLER:KEY_GENERATOR',
} as const;

/**
 * @nestjs/throttler's guard, answering 429 as problem+json with a plain
 * `Retry-After` (the stock guard names it per throttler), and counting
 * rejections. Runs after the JWT guard, so it knows the user.
 *
 * The stock guard reads each throttler's route settings (six metadata lookups per
 * throttler, with awaits between) on every request; they are fixed once the routes are
 * built, so they are read once per route here (`plan`), and each request only asks the
 * throttlers' `skipIf` and counts. A setting given as a function of the request is left
 * to the stock guard.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly plans = new WeakMap<object, WeakMap<object, Step[] | undefined>>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly metrics: Metrics,
  ) {
    super(options, storage, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const steps = this.planFor(context);
    if (!steps) return super.canActivate(context);
    for (const step of steps) {
      const skipIf = step.throttler.skipIf ?? this.commonOptions.skipIf;
      if (skipIf?.(context)) continue;
      await this.handleRequest({ context, ...step });
    }
    return true;
  }

  private planFor(context: ExecutionContext): Step[] | undefined {
    const classRef = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.plans.get(classRef);
    if (!byHandler) this.plans.set(classRef, (byHandler = new WeakMap()));
    if (!byHandler.has(handler)) byHandler.set(handler, this.plan(handler, classRef));
    return byHandler.get(handler);
  }

  /** The route's steps, as the stock guard's canActivate resolves them; undefined if one depends on the request. */
  private plan(handler: object, classRef: object): Step[] | undefined {
    const targets = [handler, classRef] as Array<(...args: never[]) => unknown>;
    const steps: Step[] = [];
    for (const throttler of this.throttlers) {
      const setting = <T>(key: string): T | undefined =>
        this.reflector.getAllAndOverride<T | undefined>(`${key}${throttler.name}`, targets);
      if (setting<boolean>(ROUTE_SETTINGS.skip)) continue;
      const limit = setting<unknown>(ROUTE_SETTINGS.limit) ?? throttler.limit;
      const ttl = setting<unknown>(ROUTE_SETTINGS.ttl) ?? throttler.ttl;
      const blockDuration = setting<unknown>(ROUTE_SETTINGS.blockDuration) ?? throttler.blockDuration ?? ttl;
      if (typeof limit !== 'number' || typeof ttl !== 'number' || typeof blockDuration !== 'number') return undefined;
      steps.push({
        throttler,
        limit,
        ttl,
        blockDuration,
        getTracker:
          setting<Step['getTracker']>(ROUTE_SETTINGS.getTracker) ??
          throttler.getTracker ??
          this.commonOptions.getTracker!,
        generateKey:
          setting<Step['generateKey']>(ROUTE_SETTINGS.generateKey) ??
          throttler.generateKey ??
          this.commonOptions.generateKey!,
      });
    }
    return steps;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    this.metrics.rateLimited.inc();
    throw rateLimitedError(detail.timeToBlockExpire);
  }
}
