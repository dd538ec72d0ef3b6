import { Module } from '@nestjs/common';
import { DocumentsModule } from '../documents/documents.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { TokensModule } from '../tokens/tokens.module.js';
import { AdminEmails } from './admin-emails.js';
import { UsersController } from './users.controller.js';
import { UsersRepository } from './users.repository.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [SessionsModule, TokensModule, DocumentsModule],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, AdminEmails],
  exports: [UsersRepository, UsersService],
})
export class UsersModule {}
