import { Global, Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccountRateLimitGuard } from './account-rate-limit.guard.js';
import { AccountTokensRepository } from './account-tokens.repository.js';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';
import { VerifiedEmailGuard } from './verified-email.guard.js';

/**
 * The account lifecycle by mail. Global, because registration (auth) and
 * password changes (users) start or end its tokens.
 */
@Global()
@Module({
  imports: [UsersModule, SessionsModule],
  controllers: [AccountsController],
  providers: [AccountTokensRepository, AccountsService, AccountRateLimitGuard, VerifiedEmailGuard],
  exports: [AccountsService, VerifiedEmailGuard],
})
export class AccountsModule {}
