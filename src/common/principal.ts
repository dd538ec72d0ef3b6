import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';

/** Who is calling: set on the request by the authentication guard. */
export interface Principal {
  userId: string;
  /**
   * The session of an access token; for a personal access token, the token's id (a token
   * is no session, and the routes about sessions refuse it: see scopes.decorator.ts).
   */
  sessionId: string;
  /**
   * Set for a personal access token only: what it may do (scopes of SCOPES in
   * src/auth/scopes.decorator.ts). A session may do all its user may.
   */
  scopes?: readonly string[];
}

export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest().user,
);

/** What an account may do: `admin` adds the administrator routes. */
export type Role = 'user' | 'admin';
export const ROLES: readonly Role[] = ['user', 'admin'];

export const ROLES_KEY = 'ultrai:roles';

/** Restricts a route to these roles (checked against the database, so a demotion counts at once). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);
