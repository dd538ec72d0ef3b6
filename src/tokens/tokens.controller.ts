import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser, type Principal } from '../common/principal.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { PageQueryDto } from '../common/pagination.js';
import { SmallBody } from '../common/small-body.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import { CreatedTokenDto, CreateTokenDto, TokenPageDto } from './dto/token.dto.js';
import { TokensService } from './tokens.service.js';

/** Managing tokens takes a session: no @RequireScope, so a token cannot mint or revoke tokens. */
@ApiTags('Personal access tokens')
@ApiBearerAuth('bearer')
@Controller('users/me/tokens')
@SmallBody()
export class TokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a personal access token (shown once)',
    description: 'For scripts and integrations: `Authorization: Bearer uc_pat_…` on the routes its scopes open.',
  })
  @ApiCreatedResponse({ type: CreatedTokenDto })
  @ApiProblems(400, 401, 403, 409)
  create(@CurrentUser() principal: Principal, @Body() body: CreateTokenDto): Promise<CreatedTokenDto> {
    return this.tokens.create(principal, {
      name: body.name,
      scopes: body.scopes,
      expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
    });
  }

  @Get()
  @ApiOperation({ summary: 'Your personal access tokens (never the secrets), newest first' })
  @ApiOkResponse({ type: TokenPageDto })
  @ApiProblems(400, 401, 403)
  list(@CurrentUser() principal: Principal, @Query() page: PageQueryDto): Promise<TokenPageDto> {
    return this.tokens.list(principal, page.limit, page.cursor);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Revoke a token: it stops working at once, on every instance' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404)
  revoke(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<void> {
    return this.tokens.revoke(principal, id);
  }
}
