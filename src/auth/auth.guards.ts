import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { defaultLimitKey, rateLimitedError, trackerOf } from '../rate-limit/rate-limit.guard.js';
import { RateLimitStorage } from '../rate-limit/rate-limit.storage.js';
import { isDatabaseUnavailable } from '../common/database-errors.js';
import { AppConfig } from '../config/config.js';
import { Database } from '../database/database.js';
import { ForbiddenError, UnauthorizedError } from '../common/errors.js';
import { IS_PUBLIC_KEY } from '../common/public.decorator.js';
import { Metrics } from '../metrics/metrics.service.js';
import type { Role } from '../common/principal.js';
import { UsersRepository } from '../users/users.repository.js';
import type { FastifyRequest } from 'fastify';
import { type Principal, ROLES_KEY } from '../common/principal.js';
import { Authenticator } from './authenticator.js';
import { overriddenMetadata, type RouteMetadata } from '../common/route-metadata.js';
import { requiredScopeOf, scopeRefusal } from './scopes.decorator.js';

/**
 * Global: every route needs a valid access token unless it is marked @Public().
 * A refusal counts against the client IP's share of the global limit (the limit
 * guard runs after this one and never sees it), so a client replaying dead or
 * forged tokens gets 429s like any other flood.
 *
 * The token is checked here, directly (no passport): an access token by TokenService
 * (this key, HS256 only, unexpired, the claims of an access token) and then its session,
 * a personal access token by TokensService, both through the Authenticator, the one
 * authentication path (the cached-read fast path asks it too).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly isPublic: RouteMetadata<boolean | undefined>;

  constructor(
    reflector: Reflector,
    private readonly database: Database,
    private readonly limits: RateLimitStorage,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    private readonly authenticator: Authenticator,
  ) {
    this.isPublic = overriddenMetadata<boolean>(reflector, IS_PUBLIC_KEY);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.isPublic.of(context)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    try {
      request.user = await this.authenticate(request.headers.authorization);
      return true;
    } catch (error) {
      if (error instanceof UnauthorizedError) await this.countRefusal(request);
      throw error;
    }
  }

  private async authenticate(header: string | undefined): Promise<Principal> {
    if (Authenticator.carriesPersonalAccessToken(header)) {
      const principal = await this.authenticator.authenticateToken(header);
      if (!principal) throw new UnauthorizedError();
      return principal;
    }
    let principal: Principal | undefined;
    try {
      principal = await this.authenticator.authenticateHeader(header);
    } catch (error) {
      // The session could not be checked: a 503 (try again), not a 401 (log in again).
      if (isDatabaseUnavailable(error) || !this.database.ready) throw error;
      throw new UnauthorizedError();
    }
    if (!principal) throw new UnauthorizedError();
    return principal;
  }

  private async countRefusal(request: { ip?: string }): Promise<void> {
    const counted = await this.limits.increment(
      defaultLimitKey(trackerOf({ ip: request.ip })),
      this.config.rateLimitWindowMs,
      this.config.rateLimitMax,
    );
    if (!counted.isBlocked) return;
    this.metrics.rateLimited.inc();
    throw rateLimitedError(counted.timeToBlockExpire);
  }
}

/**
 * Global, right after authentication: a personal access token reaches only the routes
 * that declare one of its scopes (@RequireScope); sessions pass. The fast path for cached
 * reads applies the same scopeRefusal, to the same route config.
 */
@Injectable()
export class ScopeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    // A session's token has no scopes: nothing to check (nor the route's scope to read).
    if (!request.user || request.user.scopes === undefined) return true;
    const refusal = scopeRefusal(request.user, requiredScopeOf(request));
    if (refusal) throw refusal;
    return true;
  }
}

/** Global: enforces @Roles(), reading the role from the database (admin routes are rare). */
@Injectable()
export class RolesGuard implements CanActivate {
  private readonly roles: RouteMetadata<Role[] | undefined>;

  constructor(
    reflector: Reflector,
    private readonly users: UsersRepository,
  ) {
    this.roles = overriddenMetadata<Role[]>(reflector, ROLES_KEY);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const roles = this.roles.of(context);
    if (!roles?.length) return true;
    const principal = context.switchToHttp().getRequest<{ user?: Principal }>().user;
    const user = principal ? await this.users.findById(principal.userId) : null;
    if (!user || !roles.includes(user.role)) throw new ForbiddenError('This route is for administrators.');
    return true;
  }
}
