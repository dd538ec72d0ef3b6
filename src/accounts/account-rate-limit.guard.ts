import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../common/principal.js';
import { rateLimitedError } from '../rate-limit/rate-limit.guard.js';
import { RateLimitStorage } from '../rate-limit/rate-limit.storage.js';
import { AppConfig } from '../config/config.js';

/**
 * The strict limits of the account-recovery routes, per route: per client IP,
 * per email address named in the body, and per user when authenticated.
 * Counted in the shared rate-limit storage (Redis when configured), so every
 * instance counts together. Keys carry a hash, never the address itself.
 */
@Injectable()
export class AccountRateLimitGuard implements CanActivate {
  constructor(
    private readonly storage: RateLimitStorage,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    // Per route template (not the handler's name, which a rename would silently change).
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    const keys = [`account:${route}:ip:${request.ip ?? 'unknown'}`];
    const email = (request.body as { email?: unknown } | undefined)?.email;
    if (typeof email === 'string') {
      const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
      keys.push(`account:${route}:email:${digest}`);
    }
    if (request.user) keys.push(`account:${route}:user:${request.user.userId}`);

    const { accountRateLimitMax: max, accountRateLimitWindowMs: windowMs } = this.config.accounts;
    let retryAfter = 0;
    for (const key of keys) {
      const counter = await this.storage.increment(key, windowMs, max);
      if (counter.isBlocked) retryAfter = Math.max(retryAfter, counter.timeToBlockExpire);
    }
    if (retryAfter > 0) throw rateLimitedError(retryAfter);
    return true;
  }
}
