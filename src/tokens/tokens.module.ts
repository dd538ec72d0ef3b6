import { Module } from '@nestjs/common';
import { TokenCache } from './token-cache.js';
import { TokensController } from './tokens.controller.js';
import { TokensRepository } from './tokens.repository.js';
import { TokensService } from './tokens.service.js';

/** Personal access tokens: the routes to manage them, and the check the Authenticator calls. */
@Module({
  controllers: [TokensController],
  providers: [TokensRepository, TokenCache, TokensService],
  exports: [TokensService],
})
export class TokensModule {}
