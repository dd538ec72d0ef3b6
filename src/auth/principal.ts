import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Role } from '../users/user.entity.js';

/** Who is calling: set on the request by the JWT guard. */
export interface Principal {
  userId: string;
  sessionId: string;
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
