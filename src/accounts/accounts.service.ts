import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditLog } from '../audit/audit-log.js';
import { UnauthorizedError } from '../common/errors.js';
import { PasswordService } from '../sessions/password.service.js';
import type { Principal } from '../common/principal.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { CacheGenerations } from '../cache/cache-generations.js';
import { AppLogger } from '../common/logger.js';
import { AppError, ValidationFailedError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import { MailOutbox } from '../mail/mail-outbox.js';
import { MailSender } from '../mail/mail-sender.js';
import {
  changeEmailConfirmMail,
  changeEmailNoticeMail,
  passwordResetNoticeMail,
  resetPasswordMail,
  verifyEmailMail,
} from '../mail/mail-templates.js';
import { User } from '../users/user.entity.js';
import { UsersRepository } from '../users/users.repository.js';
import { type AccountTokenKind, hashAccountToken, isWellFormedAccountToken, newAccountToken } from './account-token.js';
import { AccountTokensRepository } from './account-tokens.repository.js';

/** Used, expired, unknown, forged or malformed: one answer, so a token reveals nothing. */
export class InvalidAccountTokenError extends AppError {
  constructor() {
    super(400, 'invalid-token', 'This link is not valid: it was used already, has expired, or is wrong.');
  }
}

/** Email verification, password reset and email change, each through a one-time token sent by mail. */
@Injectable()
export class AccountsService implements OnApplicationShutdown {
  /** Forgot-password work still running after its 202 was sent. */
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly tokens: AccountTokensRepository,
    private readonly outbox: MailOutbox,
    private readonly mail: MailSender,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordService,
    private readonly audit: AuditLog,
    private readonly cache: CacheGenerations,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.background);
  }

  /**
   * In the registering transaction: a verification token and its mail. Nothing
   * when mail is off (production without SMTP): the address can be verified later.
   */
  async startVerification(manager: EntityManager, user: User): Promise<void> {
    if (!this.mail.enabled) return;
    const token = await this.issue(manager, user.id, 'verify-email', user.email);
    const ttl = this.config.accounts.verifyEmailTtlSeconds;
    await this.outbox.enqueue(
      manager,
      verifyEmailMail(user.email, user.username, this.link('verify-email', token), Math.round(ttl / 3600)),
    );
    await this.audit.record({ type: 'email.verification-sent', userId: user.id, actorId: user.id }, manager);
  }

  /** Wakes the sender once the transaction that enqueued a mail has committed. */
  mailCommitted(): void {
    this.mail.wake();
  }

  async resendVerification(principal: Principal): Promise<void> {
    this.mail.assertEnabled();
    const user = await this.users.findById(principal.userId);
    if (!user) throw new UnauthorizedError();
    if (user.emailVerified) throw new AppError(409, 'email-already-verified', 'This address is already verified.');
    await this.dataSource.transaction((manager) => this.startVerification(manager, user));
    this.mail.wake();
  }

  /** Verifies an address, or applies an email change: whichever the token was made for. */
  async verifyEmail(token: string): Promise<void> {
    if (!isWellFormedAccountToken(token)) throw new InvalidAccountTokenError();
    const userId = await this.dataSource.transaction(async (manager) => {
      const found = await this.tokens.consume(manager, hashAccountToken(token), ['verify-email', 'change-email']);
      if (!found) throw new InvalidAccountTokenError();
      const user = await manager.getRepository(User).findOneBy({ id: found.userId });
      if (!user) throw new InvalidAccountTokenError();
      if (found.kind === 'verify-email') {
        // The mail went to an address the account no longer has.
        if (user.email !== found.email) throw new InvalidAccountTokenError();
        await manager.query('UPDATE users SET email_verified = true, updated_at = now() WHERE id = $1', [user.id]);
        await this.audit.record({ type: 'email.verified', userId: user.id, actorId: user.id }, manager);
        return user.id;
      }
      await this.changeEmail(manager, user, found.email);
      return user.id;
    });
    await this.cache.bump(userId);
  }

  /**
   * Always accepted, and answered before the account is even looked up, so
   * neither the answer nor its timing says whether the address has an account.
   */
  forgotPassword(email: string): void {
    this.mail.assertEnabled();
    const work = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.sendReset(email))
      .catch((error: unknown) =>
        this.logger.error(`Password reset mail not queued: ${(error as Error).message}`, 'Accounts'),
      )
      .finally(() => this.background.delete(work));
    this.background.add(work);
  }

  async resetPassword(token: string, password: string): Promise<void> {
    if (!isWellFormedAccountToken(token)) throw new InvalidAccountTokenError();
    const tokenHash = hashAccountToken(token);
    // Hash the new password (slow on purpose) only for a token that may work.
    const live: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM account_tokens WHERE token_hash = $1 AND kind = 'reset-password' AND expires_at > now()`,
      [tokenHash],
    );
    if (live.length === 0) throw new InvalidAccountTokenError();
    const passwordHash = await this.passwords.hash(password);
    const user = await this.dataSource.transaction(async (manager) => {
      const found = await this.tokens.consume(manager, tokenHash, ['reset-password']);
      if (!found) throw new InvalidAccountTokenError();
      const user = await manager.getRepository(User).findOneBy({ id: found.userId });
      if (!user || user.email !== found.email) throw new InvalidAccountTokenError();
      // The link came through the mailbox: that proves the address too.
      await manager.query(
        'UPDATE users SET password_hash = $2, email_verified = true, updated_at = now() WHERE id = $1',
        [user.id, passwordHash],
      );
      await this.tokens.revoke(manager, user.id, ['reset-password', 'change-email']);
      await this.outbox.enqueue(manager, passwordResetNoticeMail(user.email, user.username));
      await this.audit.record({ type: 'password.reset', userId: user.id, actorId: user.id }, manager);
      return user;
    });
    await this.sessions.revokeAll(user.id);
    await this.cache.bump(user.id);
    this.mail.wake();
  }

  /** Sends a confirmation to the new address and a notice to the current one; applies on confirmation. */
  async requestEmailChange(principal: Principal, email: string, password: string): Promise<void> {
    this.mail.assertEnabled();
    const user = await this.users.findById(principal.userId);
    if (!user || !(await this.passwords.verify(user.passwordHash, password))) {
      throw new AppError(403, 'wrong-password', 'The password is not correct.');
    }
    if (email === user.email) {
      throw new ValidationFailedError([{ field: 'email', message: 'email is already the address of this account' }]);
    }
    const ttl = this.config.accounts.emailChangeTtlSeconds;
    await this.dataSource.transaction(async (manager) => {
      const token = await this.issue(manager, user.id, 'change-email', email);
      await this.outbox.enqueue(
        manager,
        changeEmailConfirmMail(email, user.username, this.link('verify-email', token), Math.round(ttl / 3600)),
      );
      await this.outbox.enqueue(manager, changeEmailNoticeMail(user.email, user.username, email));
      await this.audit.record({ type: 'email.change-requested', userId: user.id, actorId: user.id }, manager);
    });
    this.mail.wake();
  }

  /** After a password change: pending resets and email changes die with the old password. */
  async passwordChanged(userId: string): Promise<void> {
    await this.dataSource.transaction((manager) =>
      this.tokens.revoke(manager, userId, ['reset-password', 'change-email']),
    );
  }

  private async sendReset(email: string): Promise<void> {
    const user = await this.users.findByEmail(email);
    if (!user) return;
    const ttl = this.config.accounts.resetPasswordTtlSeconds;
    await this.dataSource.transaction(async (manager) => {
      const token = await this.issue(manager, user.id, 'reset-password', user.email);
      await this.outbox.enqueue(
        manager,
        resetPasswordMail(user.email, user.username, this.link('reset-password', token), Math.round(ttl / 60)),
      );
      await this.audit.record({ type: 'password.reset-requested', userId: user.id, actorId: null }, manager);
    });
    this.mail.wake();
  }

  private async changeEmail(manager: EntityManager, user: User, email: string): Promise<void> {
    try {
      await manager.query('UPDATE users SET email = $2, email_verified = true, updated_at = now() WHERE id = $1', [
        user.id,
        email,
      ]);
    } catch (error) {
      // Taken since the request: the transaction rolls back, so the token still works once the address is free.
      if ((error as { driverError?: { code?: string } }).driverError?.code === '23505') {
        throw new AppError(409, 'email-taken', 'An account with this email already exists.');
      }
      throw error;
    }
    await this.tokens.revoke(manager, user.id, ['verify-email', 'reset-password']);
    await this.audit.record({ type: 'email.change-confirmed', userId: user.id, actorId: user.id }, manager);
  }

  private async issue(manager: EntityManager, userId: string, kind: AccountTokenKind, email: string): Promise<string> {
    const token = newAccountToken();
    const ttlSeconds = {
      'verify-email': this.config.accounts.verifyEmailTtlSeconds,
      'reset-password': this.config.accounts.resetPasswordTtlSeconds,
      'change-email': this.config.accounts.emailChangeTtlSeconds,
    }[kind];
    await this.tokens.issue(manager, { userId, kind, tokenHash: hashAccountToken(token), email, ttlSeconds });
    return token;
  }

  private link(page: 'verify-email' | 'reset-password', token: string): string {
    return `${this.config.accounts.publicUrl}/${page}?token=${token}`;
  }
}
