import { Module } from '@nestjs/common';
import { PasswordService } from './password.service.js';
import { SessionCache } from './session-cache.js';
import { SessionsRepository } from './sessions.repository.js';
import { SessionsService } from './sessions.service.js';

/** Sessions and passwords: what both auth and account management need. */
@Module({
  providers: [SessionsRepository, SessionCache, SessionsService, PasswordService],
  exports: [SessionsRepository, SessionsService, PasswordService],
})
export class SessionsModule {}
