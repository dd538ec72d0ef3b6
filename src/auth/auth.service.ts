import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service.js';
import { AuditLog } from '../audit/audit-log.js';
import { decodeCursor, isIsoDate, toPage } from '../common/pagination.js';
import { isUuid } from '../common/ids.js';
import { AppError, NotFoundError, ValidationFailedError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import { toUserDto, type UserDto } from '../users/dto/user.dto.js';
import type { User } from '../users/user.entity.js';
import { DuplicateEmailError, UsersRepository } from '../users/users.repository.js';
import { UnauthorizedError } from '../common/errors.js';
import type { MfaRequiredDto, RegisterDto, SessionDto, TokenResponseDto } from './dto/auth.dto.js';
import { MfaService, type SecondFactor } from '../mfa/mfa.service.js';
import { LoginThrottle } from './login-throttle.js';
import { PasswordService } from '../sessions/password.service.js';
import type { Principal } from '../common/principal.js';
import {
  decideRotation,
  formatRefreshToken,
  hashRefreshSecret,
  newRefreshSecret,
  parseRefreshToken,
} from '../sessions/refresh-token.js';
import { SessionsRepository } from '../sessions/sessions.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { MFA_TOKEN_TTL_SECONDS, TokenService } from './token.service.js';

/** What the controller knows about the client, for the sessions list. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

const INVALID_CREDENTIALS = 'The email or password is not correct.';
const INVALID_REFRESH = 'The refresh token is not valid. Log in again.';
/** Concurrent refreshes may each lose the conditional update once; more means something is wrong. */
const MAX_ROTATION_ATTEMPTS = 3;

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessionsRepo: SessionsRepository,
    private readonly sessions: SessionsService,
    private readonly passwords: PasswordService,
    private readonly tokens: TokenService,
    private readonly config: AppConfig,
    private readonly loginThrottle: LoginThrottle,
    private readonly dataSource: DataSource,
    private readonly accounts: AccountsService,
    private readonly audit: AuditLog,
    private readonly mfa: MfaService,
  ) {}

  async register(input: RegisterDto): Promise<UserDto> {
    const passwordHash = await this.passwords.hash(input.password);
    try {
      const role = this.config.adminEmails.includes(input.email.toLowerCase()) ? 'admin' : 'user';
      // The account, its verification token and mail, and the event exist together or not at all.
      const user = await this.dataSource.transaction(async (manager) => {
        const user = await this.users.create(
          { email: input.email, username: input.username, passwordHash, role },
          manager,
        );
        await this.audit.record({ type: 'user.registered', userId: user.id, actorId: user.id }, manager);
        await this.accounts.startVerification(manager, user);
        return user;
      });
      this.accounts.mailCommitted();
      return toUserDto(user);
    } catch (error) {
      if (error instanceof DuplicateEmailError) {
        throw new AppError(409, 'email-taken', 'An account with this email already exists.');
      }
      throw error;
    }
  }

  async login(email: string, password: string, client: ClientInfo): Promise<TokenResponseDto | MfaRequiredDto> {
    await this.loginThrottle.check(email);
    const user = await this.users.findByEmail(email);
    // Unknown email, wrong password and disabled account cost the same work and
    // give the same answer, so a login attempt reveals nothing about an account.
    const valid = user
      ? await this.passwords.verify(user.passwordHash, password)
      : await this.passwords.verifyDummy(password);
    if (!user || !valid || user.disabled) {
      // Never the email typed for an unknown account: people type passwords into that field.
      await this.audit.record({
        type: 'login.failed',
        userId: user?.id ?? null,
        actorId: null,
        details: user ? { reason: valid ? 'disabled' : 'wrong-password' } : {},
      });
      await this.loginThrottle.failed(email);
      throw new UnauthorizedError(INVALID_CREDENTIALS);
    }
    await this.loginThrottle.succeeded(email);
    if (await this.mfa.isEnabled(user.id)) {
      // The password was right; the session waits for the second factor.
      return { mfa_required: true, mfa_token: this.tokens.issueMfaToken(user.id), expires_in: MFA_TOKEN_TTL_SECONDS };
    }
    return this.startSession(user, client, {});
  }

  /** The second step of a login with MFA: the token from the first, and a TOTP or recovery code. */
  async loginMfa(mfaToken: string, factor: SecondFactor, client: ClientInfo): Promise<TokenResponseDto> {
    if ((factor.code === undefined) === (factor.recoveryCode === undefined)) {
      throw new ValidationFailedError([{ field: 'code', message: 'give either code or recovery_code' }]);
    }
    const userId = this.tokens.userOfMfaToken(mfaToken);
    const user = userId ? await this.users.findById(userId) : null;
    if (!user || user.disabled) throw new UnauthorizedError('The login has expired or is not valid: log in again.');
    const method = await this.mfa.verify(user.id, factor);
    return this.startSession(user, client, { mfa: method });
  }

  private async startSession(user: User, client: ClientInfo, details: { mfa?: string }): Promise<TokenResponseDto> {
    const secret = newRefreshSecret();
    const session = await this.sessionsRepo.create({
      userId: user.id,
      refreshTokenHash: hashRefreshSecret(secret),
      userAgent: client.userAgent,
      ip: client.ip,
      expiresAt: this.refreshExpiry(),
    });
    await this.audit.record({
      type: 'login.succeeded',
      userId: user.id,
      actorId: user.id,
      details: { sessionId: session.id, ...details },
    });
    return this.tokenResponse(user, session.id, secret);
  }

  async refresh(token: string, client: ClientInfo): Promise<TokenResponseDto> {
    const parsed = parseRefreshToken(token);
    if (!parsed) throw new UnauthorizedError(INVALID_REFRESH);
    const presentedHash = hashRefreshSecret(parsed.secret);

    for (let attempt = 0; attempt < MAX_ROTATION_ATTEMPTS; attempt++) {
      const session = await this.sessionsRepo.findById(parsed.sessionId);
      if (!session) throw new UnauthorizedError(INVALID_REFRESH);
      const decision = decideRotation(session, presentedHash, new Date(), this.config.refreshReuseGraceSeconds);
      if (decision.kind === 'refuse') throw new UnauthorizedError(INVALID_REFRESH);
      if (decision.kind === 'reuse') {
        // A token that was already exchanged came back: assume it was stolen
        // and end the whole session, for the thief and the owner alike.
        await this.sessions.revoke(session.id, session.userId);
        await this.audit.record({
          type: 'refresh.reuse-detected',
          userId: session.userId,
          actorId: null,
          details: { sessionId: session.id },
        });
        throw new AppError(
          401,
          'refresh-token-reused',
          'This refresh token was already used; the session is revoked.',
          undefined,
          {
            'www-authenticate': 'Bearer',
          },
        );
      }
      const user = await this.users.findById(session.userId);
      if (!user || user.disabled) throw new UnauthorizedError(INVALID_REFRESH);
      const secret = newRefreshSecret();
      const rotated = await this.sessionsRepo.rotate(session.id, decision.from, {
        refreshTokenHash: hashRefreshSecret(secret),
        previousTokenHash: decision.from,
        expiresAt: this.refreshExpiry(),
        userAgent: client.userAgent,
        ip: client.ip,
      });
      if (rotated) return this.tokenResponse(user, session.id, secret);
    }
    throw new UnauthorizedError(INVALID_REFRESH);
  }

  async logout(principal: Principal): Promise<void> {
    await this.sessions.revoke(principal.sessionId, principal.userId);
    await this.audit.record({
      type: 'logout',
      userId: principal.userId,
      actorId: principal.userId,
      details: { sessionId: principal.sessionId },
    });
  }

  async logoutAll(principal: Principal): Promise<void> {
    await this.sessions.revokeAll(principal.userId);
    await this.audit.record({ type: 'sessions.revoked-all', userId: principal.userId, actorId: principal.userId });
  }

  async listSessions(
    principal: Principal,
    limit: number,
    cursor?: string,
  ): Promise<{ items: SessionDto[]; nextCursor: string | null }> {
    const after = cursor ? decodeCursor(cursor, [isIsoDate, isUuid]) : undefined;
    const rows = await this.sessionsRepo.listActive(
      principal.userId,
      limit,
      after ? { lastUsedAt: after[0] as string, id: after[1] as string } : undefined,
    );
    return toPage(
      rows,
      limit,
      (s) => ({
        id: s.id,
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt,
        userAgent: s.userAgent,
        ip: s.ip,
        current: s.id === principal.sessionId,
      }),
      (s) => [s.lastUsedAt.toISOString(), s.id],
    );
  }

  async revokeSession(principal: Principal, sessionId: string): Promise<void> {
    if (!(await this.sessions.revoke(sessionId, principal.userId))) throw new NotFoundError('No such active session.');
    await this.audit.record({
      type: 'session.revoked',
      userId: principal.userId,
      actorId: principal.userId,
      details: { sessionId },
    });
  }

  /** The caller's account; their session check passed, so it exists unless deleted this instant. */
  async currentUser(principal: Principal): Promise<User> {
    const user = await this.users.findById(principal.userId);
    if (!user || user.disabled) throw new UnauthorizedError();
    return user;
  }

  private refreshExpiry(): Date {
    return new Date(Date.now() + this.config.refreshTokenTtlSeconds * 1000);
  }

  private tokenResponse(user: User, sessionId: string, secret: string): TokenResponseDto {
    return {
      access_token: this.tokens.issueAccessToken(user.id, sessionId),
      token_type: 'bearer',
      expires_in: this.config.accessTokenTtlSeconds,
      refresh_token: formatRefreshToken({ sessionId, secret }),
      refresh_expires_in: this.config.refreshTokenTtlSeconds,
      user: toUserDto(user),
    };
  }
}
