import { Injectable } from '@nestjs/common';
import { AuditLog } from '../audit/audit-log.js';
import { UnauthorizedError } from '../common/errors.js';
import { PasswordService } from '../sessions/password.service.js';
import type { Principal } from '../common/principal.js';
import { AppError, NotFoundError } from '../common/problem.js';
import { UsersRepository } from '../users/users.repository.js';
import type { User } from '../users/user.entity.js';
import { MfaThrottle } from './mfa-throttle.js';
import { MfaRepository } from './mfa.repository.js';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.js';
import { newTotpSecret, otpauthUrl, totpStep } from './totp.js';

/** A second factor as the client sends it: a TOTP code or a recovery code. */
export interface SecondFactor {
  code?: string;
  recoveryCode?: string;
}

const WRONG_CODE = 'The code is not correct.';

/** TOTP two-factor: enrolment, confirmation, checks at login, and turning it off. */
@Injectable()
export class MfaService {
  constructor(
    private readonly factors: MfaRepository,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly throttle: MfaThrottle,
    private readonly audit: AuditLog,
  ) {}

  isEnabled(userId: string): Promise<boolean> {
    return this.factors.isEnabled(userId);
  }

  /** A new secret, pending until a code from it is confirmed; replaces an unconfirmed one. */
  async enrol(principal: Principal, password: string): Promise<{ secret: string; otpauthUrl: string }> {
    const user = await this.withPassword(principal, password);
    const secret = newTotpSecret();
    if (!(await this.factors.savePending(user.id, secret))) {
      throw new AppError(409, 'mfa-already-enabled', 'Two-factor authentication is already on; turn it off first.');
    }
    return { secret, otpauthUrl: otpauthUrl(secret, user.email) };
  }

  /** Turns the pending factor on with its first code; returns the recovery codes, shown this once. */
  async confirm(principal: Principal, code: string): Promise<{ recoveryCodes: string[] }> {
    const factor = await this.factors.findFactor(principal.userId);
    if (!factor || factor.confirmed) {
      throw new AppError(
        409,
        'mfa-not-pending',
        'There is no enrolment to confirm: start one with POST /users/me/mfa/totp.',
      );
    }
    await this.throttle.check(principal.userId);
    const step = totpStep(factor.secret, code);
    if (step === undefined) {
      await this.throttle.failed(principal.userId);
      throw new AppError(400, 'invalid-mfa-code', WRONG_CODE);
    }
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const confirmed = await this.factors.transaction(async (manager) => {
      if (!(await this.factors.useStep(principal.userId, step, true, manager))) return false;
      await this.factors.replaceRecoveryCodes(principal.userId, codes.map(hashRecoveryCode), manager);
      await this.audit.record({ type: 'mfa.enabled', userId: principal.userId, actorId: principal.userId }, manager);
      return true;
    });
    if (!confirmed) throw new AppError(409, 'mfa-not-pending', 'This enrolment was already confirmed or replaced.');
    await this.throttle.succeeded(principal.userId);
    return { recoveryCodes: codes };
  }

  /** Turns it off: the password and a current code, so a stolen session alone cannot. */
  async disable(principal: Principal, password: string, code: string): Promise<void> {
    await this.withPassword(principal, password);
    if (!(await this.factors.isEnabled(principal.userId))) {
      throw new AppError(409, 'mfa-not-enabled', 'Two-factor authentication is not on.');
    }
    await this.verify(principal.userId, { code }, (detail) => new AppError(400, 'invalid-mfa-code', detail));
    await this.factors.remove(principal.userId);
    await this.audit.record({ type: 'mfa.disabled', userId: principal.userId, actorId: principal.userId });
  }

  /** An administrator removes a user's factor (a lost phone and no recovery code left). */
  async adminReset(actor: Principal, userId: string): Promise<void> {
    if (!(await this.users.findById(userId))) throw new NotFoundError('No such user.');
    if (await this.factors.remove(userId)) {
      await this.audit.record({ type: 'mfa.reset', userId, actorId: actor.userId });
    }
  }

  /**
   * Checks the second factor of a login (or of turning MFA off): a TOTP code not used
   * before, or an unused recovery code, which is then spent. Wrong ones count against
   * the account (MfaThrottle); `refusal` builds the error for a wrong one.
   */
  async verify(
    userId: string,
    factor: SecondFactor,
    refusal: (detail: string) => AppError = (detail) => new UnauthorizedError(detail),
  ): Promise<'totp' | 'recovery-code'> {
    await this.throttle.check(userId);
    const stored = await this.factors.findFactor(userId);
    if (!stored?.confirmed) throw refusal(WRONG_CODE);
    if (factor.recoveryCode !== undefined) {
      if (await this.factors.useRecoveryCode(userId, hashRecoveryCode(factor.recoveryCode))) {
        await this.throttle.succeeded(userId);
        await this.audit.record({
          type: 'mfa.recovery-code-used',
          userId,
          actorId: userId,
          details: { remaining: await this.factors.remainingRecoveryCodes(userId) },
        });
        return 'recovery-code';
      }
    } else if (factor.code !== undefined) {
      const step = totpStep(stored.secret, factor.code);
      if (step !== undefined) {
        if (!(await this.factors.useStep(userId, step, false))) {
          // Right, but already used: someone may have watched it being typed.
          throw refusal('This code was already used; wait for the next one.');
        }
        await this.throttle.succeeded(userId);
        return 'totp';
      }
    }
    await this.throttle.failed(userId);
    await this.audit.record({ type: 'mfa.failed', userId, actorId: null });
    throw refusal(WRONG_CODE);
  }

  private async withPassword(principal: Principal, password: string): Promise<User> {
    const user = await this.users.findById(principal.userId);
    if (!user || user.disabled) throw new UnauthorizedError();
    if (!(await this.passwords.verify(user.passwordHash, password))) {
      throw new AppError(403, 'wrong-password', 'The password is not correct.');
    }
    return user;
  }
}
