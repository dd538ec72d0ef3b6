import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { MFA_FAILURES_MAX } from '../mfa/mfa-throttle.js';
import { AuthRateLimit } from '../rate-limit/rate-limit.guard.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { PageQueryDto } from '../common/pagination.js';
import { Public } from '../common/public.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import { UserDto } from '../users/dto/user.dto.js';
import { AuthService, type ClientInfo } from './auth.service.js';
import { Client } from './client-info.js';
import {
  LoginDto,
  LoginMfaDto,
  MfaRequiredDto,
  ProtectedDto,
  RefreshDto,
  RegisterDto,
  SessionPageDto,
  TokenResponseDto,
  VerifyDto,
} from './dto/auth.dto.js';
import { CurrentUser, type Principal } from '../common/principal.js';
import { SmallBody } from '../common/small-body.decorator.js';
import { RequireScope } from './scopes.decorator.js';

@ApiTags('Auth')
@Controller()
@SmallBody()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @AuthRateLimit('register')
  @Post('auth/register')
  @ApiOperation({ summary: 'Create an account' })
  @ApiCreatedResponse({ type: UserDto })
  @ApiProblems(400, 409, 429)
  register(@Body() body: RegisterDto): Promise<UserDto> {
    return this.auth.register(body);
  }

  @Public()
  @AuthRateLimit('login')
  @Post('auth/login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Log in: an access token and a refresh token',
    description: 'Paste `access_token` into **Authorize** to call the protected routes from this page.',
  })
  @ApiExtraModels(TokenResponseDto, MfaRequiredDto)
  @ApiOkResponse({
    description: 'The token pair; for an account with two-factor authentication on, `mfa_required` instead.',
    schema: { oneOf: [{ $ref: getSchemaPath(TokenResponseDto) }, { $ref: getSchemaPath(MfaRequiredDto) }] },
  })
  @ApiProblems(400, 401, 429)
  login(@Body() body: LoginDto, @Client() client: ClientInfo): Promise<TokenResponseDto | MfaRequiredDto> {
    return this.auth.login(body.email, body.password, client);
  }

  @Public()
  @AuthRateLimit('login-mfa')
  @Post('auth/login/mfa')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Second step of a login with two-factor authentication: a code, or a recovery code',
    description: `Wrong codes are limited per account (${MFA_FAILURES_MAX} per 15 minutes, then 429).`,
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiProblems(400, 401, 429)
  loginMfa(@Body() body: LoginMfaDto, @Client() client: ClientInfo): Promise<TokenResponseDto> {
    return this.auth.loginMfa(body.mfa_token, { code: body.code, recoveryCode: body.recovery_code }, client);
  }

  @Public()
  @AuthRateLimit('refresh')
  @Post('auth/refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Exchange a refresh token for a new pair (rotation)',
    description:
      'Each refresh token works once. Presenting one that this session already exchanged (after a grace of a few seconds) revokes the whole session; an unknown one is a plain 401.',
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiProblems(400, 401, 429)
  refresh(@Body() body: RefreshDto, @Client() client: ClientInfo): Promise<TokenResponseDto> {
    return this.auth.refresh(body.refresh_token, client);
  }

  @Post('auth/logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Revoke this session; its access token stops working at once' })
  @ApiNoContentResponse()
  @ApiProblems(401)
  logout(@CurrentUser() principal: Principal): Promise<void> {
    return this.auth.logout(principal);
  }

  @Post('auth/logout-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Revoke every session of this account' })
  @ApiNoContentResponse()
  @ApiProblems(401)
  logoutAll(@CurrentUser() principal: Principal): Promise<void> {
    return this.auth.logoutAll(principal);
  }

  @Get('auth/sessions')
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Active sessions of this account, most recently used first' })
  @ApiOkResponse({ type: SessionPageDto })
  @ApiProblems(400, 401)
  sessions(@CurrentUser() principal: Principal, @Query() page: PageQueryDto): Promise<SessionPageDto> {
    return this.auth.listSessions(principal, page.limit, page.cursor);
  }

  @Delete('auth/sessions/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Revoke one of your sessions' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 404)
  revokeSession(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<void> {
    return this.auth.revokeSession(principal, id);
  }

  @Get('auth/verify')
  @RequireScope('profile:read')
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Check an access token (legacy)' })
  @ApiOkResponse({ type: VerifyDto })
  @ApiProblems(401)
  async verify(@CurrentUser() principal: Principal): Promise<VerifyDto> {
    const user = await this.auth.currentUser(principal);
    return { valid: true, id: user.id, email: user.email, username: user.username, role: user.role };
  }

  @Get('protected')
  @RequireScope('profile:read')
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Example protected route (legacy)' })
  @ApiOkResponse({ type: ProtectedDto })
  @ApiProblems(401)
  async protectedRoute(@CurrentUser() principal: Principal): Promise<ProtectedDto> {
    const user = await this.auth.currentUser(principal);
    return {
      message: 'This is a protected route',
      user: { id: user.id, email: user.email, username: user.username },
    };
  }
}
