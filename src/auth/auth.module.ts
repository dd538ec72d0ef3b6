import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { RateLimitGuard } from '../rate-limit/rate-limit.guard.js';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { JwtAuthGuard, RolesGuard, ScopeGuard } from './auth.guards.js';
import { AuthService } from './auth.service.js';
import { Authenticator } from './authenticator.js';
import { LoginThrottle } from './login-throttle.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { TokenService } from './token.service.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { MfaModule } from '../mfa/mfa.module.js';

@Module({
  imports: [JwtModule.register({}), UsersModule, SessionsModule, TokensModule, MfaModule],
  controllers: [AuthController],
  providers: [
    AuthService,
    LoginThrottle,
    TokenService,
    Authenticator,
    // Order matters: authenticate, check a token's scopes, check roles, then count (per user when authenticated).
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: ScopeGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [Authenticator, AuthService],
})
export class AuthModule {}
