import { Body, Controller, Delete, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, type Principal, Roles } from '../common/principal.js';
import { AuthRateLimit } from '../rate-limit/rate-limit.guard.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { SmallBody } from '../common/small-body.decorator.js';
import { UuidPipe } from '../common/uuid.pipe.js';
import { ConfirmTotpDto, DisableTotpDto, EnrolTotpDto, RecoveryCodesDto, TotpEnrolmentDto } from './dto/mfa.dto.js';
import { MfaService } from './mfa.service.js';

/** No @RequireScope anywhere here: a personal access token cannot touch a second factor. */
@ApiTags('Two-factor authentication')
@ApiBearerAuth('bearer')
@Controller()
@SmallBody()
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  @Post('users/me/mfa/totp')
  @AuthRateLimit('mfa-enrol')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Start TOTP enrolment (password required)',
    description: 'Add the secret to an authenticator app, then confirm with a code. Until then, login is unchanged.',
  })
  @ApiOkResponse({ type: TotpEnrolmentDto })
  @ApiProblems(400, 401, 403, 409, 429)
  enrol(@CurrentUser() principal: Principal, @Body() body: EnrolTotpDto): Promise<TotpEnrolmentDto> {
    return this.mfa.enrol(principal, body.password);
  }

  @Post('users/me/mfa/totp/confirm')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Turn TOTP on with a first code: answers the recovery codes, once',
    description: 'From now on, POST /auth/login asks for a code (POST /auth/login/mfa).',
  })
  @ApiOkResponse({ type: RecoveryCodesDto })
  @ApiProblems(400, 401, 403, 409, 429)
  confirm(@CurrentUser() principal: Principal, @Body() body: ConfirmTotpDto): Promise<RecoveryCodesDto> {
    return this.mfa.confirm(principal, body.code);
  }

  @Delete('users/me/mfa/totp')
  @AuthRateLimit('mfa-disable')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Turn TOTP off (password and a current code required)' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 409, 429)
  disable(@CurrentUser() principal: Principal, @Body() body: DisableTotpDto): Promise<void> {
    return this.mfa.disable(principal, body.password, body.code);
  }

  @Delete('users/:id/mfa')
  @Roles('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a user’s second factor and recovery codes (admin, audited)' })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 403, 404)
  reset(@CurrentUser() principal: Principal, @Param('id', new UuidPipe()) id: string): Promise<void> {
    return this.mfa.adminReset(principal, id);
  }
}
