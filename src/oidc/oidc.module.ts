import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { OidcClient } from './oidc-client.js';
import { IdentitiesController, OidcController } from './oidc.controller.js';
import { OidcService } from './oidc.service.js';

/** Sign-in with an OpenID Connect provider, and the identities it links to accounts. */
@Module({
  imports: [AuthModule, UsersModule, SessionsModule],
  controllers: [OidcController, IdentitiesController],
  providers: [OidcClient, OidcService],
})
export class OidcModule {}
