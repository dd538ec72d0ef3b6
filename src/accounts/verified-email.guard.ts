import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '../common/principal.js';
import { AppError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * With REQUIRE_VERIFIED_EMAIL=true, an account whose address is not verified
 * may read but not write. Used as a controller guard, so it runs after the
 * global JWT guard has named the user.
 */
@Injectable()
export class VerifiedEmailGuard implements CanActivate {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.config.accounts.requireVerifiedEmail) return true;
    const request = context.switchToHttp().getRequest<{ method: string; user?: Principal }>();
    if (READS.has(request.method) || !request.user) return true;
    const rows: Array<{ verified: boolean }> = await this.dataSource.query(
      'SELECT email_verified AS verified FROM users WHERE id = $1',
      [request.user.userId],
    );
    if (rows[0]?.verified) return true;
    throw new AppError(
      403,
      'email-not-verified',
      'Verify your email address first: follow the link in the mail (POST /auth/email/verify/resend sends a new one).',
    );
  }
}
