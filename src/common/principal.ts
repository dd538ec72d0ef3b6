import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';

/** Who is calling: set on the request by the JWT guard. */
export interface Principal {
  userId: string;
  sessionId: string;
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
