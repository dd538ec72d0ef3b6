import { Body, Controller, HttpCode, HttpStatus, Post, Put, UseGuards } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser, type Principal } from '../common/principal.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { Public } from '../common/public.decorator.js';
import { SmallBody } from '../common/small-body.decorator.js';
import { AccountRateLimitGuard } from './account-rate-limit.guard.js';
import { AccountsService } from './accounts.service.js';
import { AcceptedDto, ChangeEmailDto, ForgotPasswordDto, ResetPasswordDto, VerifyEmailDto } from './dto/account.dto.js';

const ACCEPTED: AcceptedDto = { status: 'accepted' };

@ApiTags('Account recovery')
@Controller()
@SmallBody()
@UseGuards(AccountRateLimitGuard)
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Public()
  @Post('auth/email/verify')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Verify your address, or confirm an email change, with the token from the mail',
    description: 'The mail links to `${PUBLIC_URL}/verify-email?token=…`; that page posts the token here.',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 409, 429)
  verify(@Body() body: VerifyEmailDto): Promise<void> {
    return this.accounts.verifyEmail(body.token);
  }

  @Post('auth/email/verify/resend')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'Send a new verification mail (the previous link stops working)' })
  @ApiAcceptedResponse({ type: AcceptedDto })
  @ApiProblems(401, 409, 429, 503)
  async resend(@CurrentUser() principal: Principal): Promise<AcceptedDto> {
    await this.accounts.resendVerification(principal);
    return ACCEPTED;
  }

  @Public()
  @Post('auth/password/forgot')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Mail a password reset link, if the address has an account',
    description:
      'Always 202 with the same body and timing, so it says nothing about whether an account exists. The mail links to `${PUBLIC_URL}/reset-password?token=…` (valid 1 h).',
  })
  @ApiAcceptedResponse({ type: AcceptedDto })
  @ApiProblems(400, 429, 503)
  forgot(@Body() body: ForgotPasswordDto): AcceptedDto {
    this.accounts.forgotPassword(body.email);
    return ACCEPTED;
  }

  @Public()
  @Post('auth/password/reset')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Set a new password with the token from the mail; every session is signed out' })
  @ApiNoContentResponse()
  @ApiProblems(400, 429)
  reset(@Body() body: ResetPasswordDto): Promise<void> {
    return this.accounts.resetPassword(body.token, body.password);
  }

  @Put('users/me/email')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiTags('Users')
  @ApiBearerAuth('bearer')
  @ApiOperation({
    summary: 'Change your email address',
    description:
      'Mails a confirmation link to the new address and a notice to the current one. The change applies when the link is used (POST /auth/email/verify); an address taken by then is a 409 there.',
  })
  @ApiAcceptedResponse({ type: AcceptedDto })
  @ApiProblems(400, 401, 403, 429, 503)
  async changeEmail(@CurrentUser() principal: Principal, @Body() body: ChangeEmailDto): Promise<AcceptedDto> {
    await this.accounts.requestEmailChange(principal, body.email, body.password);
    return ACCEPTED;
  }
}
