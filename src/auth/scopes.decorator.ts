import { applyDecorators } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { addRouteConfig } from '../common/route-config.js';
import { AppError } from '../common/problem.js';
import type { Principal } from '../common/principal.js';

/** What a personal access token may be granted. A session's access token may do everything its user may. */
export const SCOPES = ['profile:read', 'profile:write', 'documents:read', 'documents:write'] as const;
export type Scope = (typeof SCOPES)[number];

/** Where the route's scope is kept: Fastify's route config, read alike by the guard and the cached-read fast path. */
const REQUIRED_SCOPE = 'requiredScope';

/**
 * Lets personal access tokens with `scope` call this route. A route without it refuses
 * every personal access token (403), so a new route is closed to tokens until it says
 * which scope opens it. Sessions are not affected.
 *
 * Put it on the handler (not the controller):
 *
 *     @Get(':id')
 *     @RequireScope('documents:read')
 *     get(...) {}
 *
 * Never on routes that manage credentials or the account's security (tokens, sessions,
 * MFA, password, email) nor on admin routes: a token must not be able to mint or
 * widen credentials. A new kind of access gets a new entry in SCOPES.
 */
export function RequireScope(scope: Scope): MethodDecorator {
  return applyDecorators(addRouteConfig({ [REQUIRED_SCOPE]: scope }), ApiExtension('x-token-scope', scope));
}

/** The scope the request's route declares, if any. */
export function requiredScopeOf(request: FastifyRequest): Scope | undefined {
  return (request.routeOptions.config as { [REQUIRED_SCOPE]?: Scope } | undefined)?.[REQUIRED_SCOPE];
}

/**
 * Why `principal` may not call a route declaring `required`, or undefined when it may.
 * The guard answers it as a 403; the fast path hands such a request to the guard.
 */
export function scopeRefusal(principal: Principal, required: Scope | undefined): AppError | undefined {
  if (principal.scopes === undefined) return undefined;
  if (required === undefined) {
    return new AppError(
      403,
      'insufficient-scope',
      'Personal access tokens cannot be used on this route (it declares no token scope); use a session.',
    );
  }
  if (principal.scopes.includes(required)) return undefined;
  return new AppError(403, 'insufficient-scope', `This personal access token lacks the scope ${required}.`);
}
