import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { MfaController } from './mfa.controller.js';
import { MfaRepository } from './mfa.repository.js';
import { MfaService } from './mfa.service.js';
import { MfaThrottle } from './mfa-throttle.js';

/** TOTP two-factor: its routes, and the check the login's second step calls. */
@Module({
  imports: [SessionsModule, UsersModule],
  controllers: [MfaController],
  providers: [MfaRepository, MfaService, MfaThrottle],
  exports: [MfaService],
})
export class MfaModule {}
