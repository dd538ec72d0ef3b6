import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from '../users/user.entity.js';
import type { Scope } from './scopes.decorator.js';

/** Who is calling: set on the request by the authentication guard. */
export interface Principal {
  userId: string;
  /**
   * The session of an access token; for a personal access token, the token's id (a token
   * is no session, and the routes about sessions refuse it: see scopes.decorator.ts).
   */
  sessionId: string;
  /** Set for a personal access token only: what it may do. A session may do all its user may. */
  scopes?: readonly Scope[];
}

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  typ: 'access';
  iat: number;
  exp: number;
}

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest().user,
);

export const ROLES_KEY = 'ultrai:roles';

/** Restricts a route to these roles (checked against the database, so a demotion counts at once). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);
