import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  Redirect,
  Req,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiExtraModels,
  ApiFoundResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { ClientInfo } from '../auth/auth.service.js';
import { Client } from '../auth/client-info.js';
import { MfaRequiredDto, TokenResponseDto } from '../auth/dto/auth.dto.js';
import { CurrentUser, type Principal } from '../common/principal.js';
import { AuthRateLimit } from '../rate-limit/rate-limit.guard.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { Public } from '../common/public.decorator.js';
import { SmallBody } from '../common/small-body.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import { AuthorizeQueryDto, IdentityListDto, OidcTokenDto } from './dto/oidc.dto.js';
import { OidcService } from './oidc.service.js';

export const OIDC_TAG = 'OpenID Connect';
const CALLBACK_PATH = '/auth/oidc/callback';

/** Our callback as the browser reaches it (the provider checks it against the client's registered redirect URIs). */
function callbackUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${CALLBACK_PATH}`;
}

@ApiTags(OIDC_TAG)
@Controller()
@SmallBody()
export class OidcController {
  constructor(private readonly oidc: OidcService) {}

  @Public()
  @AuthRateLimit('oidc-authorize')
  @Get('auth/oidc/authorize')
  @Redirect()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Start signing in with the OpenID Connect provider: 302 to its login page',
    description:
      'Open this in the browser (not from this page: it is a redirect). After the provider, the browser comes back to `redirect_uri?code=…`; trade the code at `POST /auth/oidc/token`.',
  })
  @ApiFoundResponse({ description: 'To the provider (authorization code flow with PKCE, state and nonce)' })
  @ApiProblems(400, 404)
  async authorize(@Query() query: AuthorizeQueryDto, @Req() request: FastifyRequest): Promise<{ url: string }> {
    return { url: await this.oidc.authorize(query.redirect_uri, callbackUrl(request)) };
  }

  @Public()
  @AuthRateLimit('oidc-callback')
  @Get('auth/oidc/callback')
  @Redirect()
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  @ApiOperation({
    summary: 'Where the provider sends the browser back: 302 to the client with a one-time code',
    description:
      'Verifies the state, exchanges the code with PKCE, verifies the ID token (issuer, audience, expiry, nonce, signature), then finds, links (verified email only) or creates the account.',
  })
  @ApiQuery({ name: 'state', required: true, type: String })
  @ApiQuery({ name: 'code', required: false, type: String })
  @ApiFoundResponse({ description: 'To the client’s redirect_uri with `?code=…` (single use, 60 seconds)' })
  @ApiProblems(400, 401, 403, 404, 409)
  async callback(@Req() request: FastifyRequest): Promise<{ url: string }> {
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    return { url: await this.oidc.callback(query) };
  }

  @Public()
  @AuthRateLimit('oidc-token')
  @Post('auth/oidc/token')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Trade the one-time code from the redirect for the login token pair',
    description: 'A new session, listed in `GET /auth/sessions` and revocable like any other.',
  })
  @ApiExtraModels(TokenResponseDto, MfaRequiredDto)
  @ApiOkResponse({
    description:
      'The token pair; for an account with two-factor authentication on, `mfa_required` instead (finish at `POST /auth/login/mfa`), unless the provider reported a second factor (`amr`).',
    schema: { oneOf: [{ $ref: getSchemaPath(TokenResponseDto) }, { $ref: getSchemaPath(MfaRequiredDto) }] },
  })
  @ApiProblems(400, 401, 404)
  token(@Body() body: OidcTokenDto, @Client() client: ClientInfo): Promise<TokenResponseDto | MfaRequiredDto> {
    return this.oidc.token(body.code, client);
  }
}

/** The caller's linked provider accounts: with the other /users/me routes in the docs. */
@ApiTags('Users')
@Controller()
@SmallBody()
export class IdentitiesController {
  constructor(private readonly oidc: OidcService) {}

  @Get('users/me/identities')
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Your accounts at OpenID Connect providers that can sign you in' })
  @ApiOkResponse({ type: IdentityListDto })
  @ApiProblems(401)
  async identities(@CurrentUser() principal: Principal): Promise<IdentityListDto> {
    return { items: await this.oidc.listIdentities(principal) };
  }

  @Delete('users/me/identities/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth('bearer')
  @ApiOperation({
    summary: 'Unlink a provider account',
    description: 'Refused (409) when it is your only way to sign in: an account without a password keeps one.',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 404, 409)
  unlink(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<void> {
    return this.oidc.unlink(principal, id);
  }
}
