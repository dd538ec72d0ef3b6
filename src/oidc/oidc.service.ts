import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { hashAccountToken, isWellFormedAccountToken, newAccountToken } from '../accounts/account-token.js';
import { AuditLog } from '../audit/audit-log.js';
import type { ClientInfo } from '../auth/auth.service.js';
import { AuthService } from '../auth/auth.service.js';
import type { MfaRequiredDto, TokenResponseDto } from '../auth/dto/auth.dto.js';
import { PasswordService } from '../sessions/password.service.js';
import type { Principal } from '../common/principal.js';
import { AppError, NotFoundError, ValidationFailedError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import { returningRows } from '../database/returning.js';
import { USERNAME_PATTERN } from '../users/dto/user.dto.js';
import type { User } from '../users/user.entity.js';
import { DuplicateEmailError, UsernameTakenError, UsersRepository } from '../users/users.repository.js';
import type { IdentityDto } from './dto/oidc.dto.js';
import { OidcClient, type OidcClaims, OidcLoginFailedError } from './oidc-client.js';

/** How long the provider may take to send the browser back. */
const AUTHORIZATION_TTL_SECONDS = 600;
/** How long the one-time code in the client's redirect may be traded for tokens. */
export const LOGIN_CODE_TTL_SECONDS = 60;
/** `amr` values that name a second factor, or a method strong on its own (RFC 8176). */
const SECOND_FACTOR_AMR = new Set(['mfa', 'otp', 'hwk', 'swk', 'sms', 'fido', 'face', 'fpt', 'iris', 'retina', 'vbm']);

const INVALID_STATE = 'This sign-in is unknown or expired (state does not match). Start again from the sign-in button.';
const INVALID_CODE = 'The sign-in code is not valid: it is unknown, already used or expired. Sign in again.';

interface PendingAuthorization {
  codeVerifier: string;
  nonce: string;
  callbackUrl: string;
  redirectUri: string;
}

interface IdentityRow {
  id: string;
  issuer: string;
  email: string | null;
  createdAt: Date;
  lastLoginAt: Date;
}

/** Whether the provider's `amr` shows a second factor (or a phishing-resistant method). */
export function reportsSecondFactor(amr: string[]): boolean {
  return amr.some((method) => SECOND_FACTOR_AMR.has(method.toLowerCase()));
}

/** A username like the address's local part (or the provider's preferred one), within the username rules. */
export function baseUsername(claims: Pick<OidcClaims, 'email' | 'preferredUsername'>): string {
  const source = claims.preferredUsername ?? claims.email?.split('@')[0] ?? 'user';
  const cleaned = source
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/^[_.-]+|[_.-]+$/g, '')
    .slice(0, 24);
  return cleaned.length >= 3 ? cleaned : `user_${cleaned}`.slice(0, 24);
}

function isIdentityTaken(error: unknown): boolean {
  const driverError = (error as { driverError?: { code?: string; constraint?: string } }).driverError;
  return driverError?.code === '23505' && driverError.constraint === 'user_identities_issuer_subject_key';
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * OpenID Connect sign-in: remembers the checks of each authorization
 * server-side (any instance can take the callback), finds, links or creates
 * the account, and hands the client a single-use code (stored hashed) that it
 * trades for the usual token pair: tokens never travel in a URL.
 */
@Injectable()
export class OidcService {
  constructor(
    private readonly oidc: OidcClient,
    private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly auth: AuthService,
    private readonly audit: AuditLog,
    private readonly config: AppConfig,
  ) {}

  async authorize(redirectUri: string, callbackUrl: string): Promise<string> {
    this.oidc.assertEnabled();
    if (!this.oidc.isAllowedRedirect(redirectUri)) {
      throw new ValidationFailedError(
        [{ field: 'redirect_uri', message: 'redirect_uri is not on this server’s list of allowed redirects' }],
        'redirect_uri is not allowed: it must be exactly one of OIDC_ALLOWED_REDIRECTS.',
      );
    }
    const { url, checks } = await this.oidc.authorizationUrl(callbackUrl);
    // Expired authorizations go as new ones come: the table stays as small as the traffic.
    await this.dataSource.query(`DELETE FROM oidc_authorizations WHERE expires_at < now()`);
    await this.dataSource.query(
      `INSERT INTO oidc_authorizations (state_hash, code_verifier, nonce, callback_url, redirect_uri, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
      [sha256(checks.state), checks.codeVerifier, checks.nonce, callbackUrl, redirectUri, AUTHORIZATION_TTL_SECONDS],
    );
    return url;
  }

  /**
   * The provider's answer: the state is taken (single use), the code exchanged
   * and the ID token verified, the account found, linked or made. Returns where
   * to send the browser: the client's redirect_uri with a one-time code.
   */
  async callback(query: string): Promise<string> {
    this.oidc.assertEnabled();
    const params = new URLSearchParams(query);
    const state = params.get('state');
    if (!state || state.length > 512) throw new AppError(400, 'oidc-state-invalid', INVALID_STATE);
    const rows: unknown = await this.dataSource.query(
      `DELETE FROM oidc_authorizations WHERE state_hash = $1
       RETURNING code_verifier AS "codeVerifier", nonce, callback_url AS "callbackUrl",
                 redirect_uri AS "redirectUri", expires_at > now() AS live`,
      [sha256(state)],
    );
    const pending = returningRows<PendingAuthorization & { live: boolean }>(rows)[0];
    if (!pending?.live) throw new AppError(400, 'oidc-state-invalid', INVALID_STATE);

    const providerError = params.get('error');
    if (providerError !== null) {
      // Cancelled or refused at the provider: the client app hears it where it expects the code.
      await this.failed(null, 'provider-error');
      const target = new URL(pending.redirectUri);
      target.searchParams.set('error', /^[\x20-\x7e]{1,64}$/.test(providerError) ? providerError : 'server_error');
      return target.href;
    }
    const currentUrl = new URL(pending.callbackUrl);
    currentUrl.search = params.toString();
    let claims: OidcClaims;
    try {
      claims = await this.oidc.exchange(currentUrl, {
        state,
        nonce: pending.nonce,
        codeVerifier: pending.codeVerifier,
      });
    } catch (error) {
      if (error instanceof OidcLoginFailedError) await this.failed(null, 'provider-response');
      throw error;
    }
    const { userId, identityId } = await this.accountFor(claims);
    const code = newAccountToken();
    await this.dataSource.query(`DELETE FROM oidc_login_codes WHERE expires_at < now() - interval '1 hour'`);
    await this.dataSource.query(
      `INSERT INTO oidc_login_codes (code_hash, user_id, identity_id, second_factor, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [hashAccountToken(code), userId, identityId, reportsSecondFactor(claims.amr), LOGIN_CODE_TTL_SECONDS],
    );
    const target = new URL(pending.redirectUri);
    target.searchParams.set('code', code);
    return target.href;
  }

  /** The one-time code from the redirect, traded (once, within 60 s) for a new session's token pair. */
  async token(code: string, client: ClientInfo): Promise<TokenResponseDto | MfaRequiredDto> {
    this.oidc.assertEnabled();
    if (!isWellFormedAccountToken(code)) throw new AppError(401, 'oidc-code-invalid', INVALID_CODE);
    const rows: unknown = await this.dataSource.query(
      `DELETE FROM oidc_login_codes WHERE code_hash = $1
       RETURNING user_id AS "userId", identity_id AS "identityId", second_factor AS "secondFactor",
                 expires_at > now() AS live`,
      [hashAccountToken(code)],
    );
    const found = returningRows<{ userId: string; identityId: string; secondFactor: boolean; live: boolean }>(rows)[0];
    if (!found?.live) throw new AppError(401, 'oidc-code-invalid', INVALID_CODE);
    const user = await this.users.findById(found.userId);
    if (!user || user.disabled) throw new AppError(401, 'oidc-code-invalid', INVALID_CODE);
    await this.dataSource.query(`UPDATE user_identities SET last_login_at = now() WHERE id = $1`, [found.identityId]);
    return this.auth.loginProven(user, client, 'oidc', found.secondFactor);
  }

  async listIdentities(principal: Principal): Promise<IdentityDto[]> {
    const rows: IdentityRow[] = await this.dataSource.query(
      `SELECT id, issuer, email, created_at AS "createdAt", last_login_at AS "lastLoginAt"
         FROM user_identities WHERE user_id = $1 ORDER BY created_at, id`,
      [principal.userId],
    );
    return rows.map((row) => ({ ...row, provider: this.providerName(row.issuer) }));
  }

  /** Unlinks one of the caller's identities, unless it is their last way to sign in. */
  async unlink(principal: Principal, identityId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      // The user's row is locked first, so two unlinks cannot each leave the other as the last way in.
      const users: Array<{ passwordSet: boolean }> = await manager.query(
        `SELECT password_set AS "passwordSet" FROM users WHERE id = $1 FOR UPDATE`,
        [principal.userId],
      );
      const identities: Array<{ id: string; issuer: string }> = await manager.query(
        `SELECT id, issuer FROM user_identities WHERE user_id = $1`,
        [principal.userId],
      );
      const identity = identities.find((i) => i.id === identityId);
      if (!users[0] || !identity) throw new NotFoundError('No such identity on your account.');
      if (!users[0].passwordSet && identities.length === 1) {
        throw new AppError(
          409,
          'last-sign-in-method',
          'This is your only way to sign in: your account has no password. Set one first (POST /auth/password/forgot), then unlink.',
        );
      }
      await manager.query(`DELETE FROM user_identities WHERE id = $1`, [identityId]);
      await this.recordIdentity(manager, 'oidc.identity-unlinked', principal.userId, identityId, identity.issuer);
    });
  }

  /** OIDC_NAME for the configured provider's identities; the issuer itself for those of a former one. */
  private providerName(issuer: string): string {
    const trim = (url: string | undefined) => url?.replace(/\/+$/, '');
    return trim(issuer) === trim(this.config.oidc.issuerUrl) ? this.oidc.name : issuer;
  }

  /** The account of this identity: known, linked to an account with the same verified email, or new. */
  private async accountFor(claims: OidcClaims): Promise<{ userId: string; identityId: string }> {
    const known: Array<{ id: string; userId: string; disabled: boolean }> = await this.dataSource.query(
      `SELECT i.id, i.user_id AS "userId", u.disabled FROM user_identities i JOIN users u ON u.id = i.user_id
        WHERE i.issuer = $1 AND i.subject = $2`,
      [claims.issuer, claims.subject],
    );
    if (known[0]) {
      if (known[0].disabled) await this.refuseDisabled(known[0].userId);
      if (claims.email) {
        await this.dataSource.query(`UPDATE user_identities SET email = $2 WHERE id = $1`, [known[0].id, claims.email]);
      }
      return { userId: known[0].userId, identityId: known[0].id };
    }
    if (!claims.email) {
      await this.failed(null, 'no-email');
      throw new AppError(
        409,
        'oidc-email-missing',
        'The provider did not give an email address, so no account can be found or made. Allow the email scope at the provider.',
      );
    }
    if (!claims.emailVerified) {
      // An unverified address proves nothing: linking it would hand the account to whoever typed it.
      const existing = await this.users.findByEmail(claims.email);
      await this.failed(existing?.id ?? null, 'email-not-verified');
      throw new AppError(
        409,
        'oidc-email-unverified',
        'The provider does not say this email address is verified, so it is not linked to an account or used for a new one. Verify the address at the provider, or log in with your password.',
      );
    }
    const existing = await this.users.findByEmail(claims.email);
    if (existing) {
      if (existing.disabled) await this.refuseDisabled(existing.id);
      try {
        const identityId = await this.dataSource.transaction((manager) => this.link(manager, existing, claims));
        return { userId: existing.id, identityId };
      } catch (error) {
        // The same identity signing in twice at once: the other callback linked it.
        if (isIdentityTaken(error)) return this.accountFor(claims);
        throw error;
      }
    }
    return this.createAccount(claims);
  }

  private async createAccount(claims: OidcClaims): Promise<{ userId: string; identityId: string }> {
    const email = claims.email as string;
    // No password of its own: the hash of random bytes nobody knows, so a password login does the same work and fails.
    const passwordHash = await this.passwords.hash(randomBytes(32).toString('base64url'));
    const role = this.config.adminEmails.includes(email) ? 'admin' : 'user';
    const base = baseUsername(claims);
    for (let attempt = 0; attempt < 8; attempt++) {
      const username = attempt === 0 ? base : `${base}-${randomBytes(3).toString('hex')}`;
      if (!USERNAME_PATTERN.test(username)) continue;
      try {
        return await this.dataSource.transaction(async (manager) => {
          const user = await this.users.create(
            { email, username, passwordHash, role, passwordSet: false, emailVerified: true },
            manager,
          );
          await this.audit.record(
            { type: 'user.registered', userId: user.id, actorId: user.id, details: { method: 'oidc' } },
            manager,
          );
          const identityId = await this.link(manager, user, claims);
          return { userId: user.id, identityId };
        });
      } catch (error) {
        if (error instanceof UsernameTakenError) continue;
        if (isIdentityTaken(error)) return this.accountFor(claims);
        if (error instanceof DuplicateEmailError) {
          // Registered a moment ago by someone else: link to it as to any account with this verified address.
          return this.accountFor(claims);
        }
        throw error;
      }
    }
    throw new AppError(409, 'username-taken', 'No free username could be derived for this account. Try again.');
  }

  private async link(manager: EntityManager, user: User, claims: OidcClaims): Promise<string> {
    const rows: unknown = await manager.query(
      `INSERT INTO user_identities (user_id, issuer, subject, email) VALUES ($1, $2, $3, $4) RETURNING id`,
      [user.id, claims.issuer, claims.subject, claims.email],
    );
    const identityId = returningRows<{ id: string }>(rows)[0].id;
    await this.recordIdentity(manager, 'oidc.identity-linked', user.id, identityId, claims.issuer);
    return identityId;
  }

  /** A link or unlink, by the account's owner, in the change's transaction. */
  private recordIdentity(
    manager: EntityManager,
    type: 'oidc.identity-linked' | 'oidc.identity-unlinked',
    userId: string,
    identityId: string,
    issuer: string,
  ): Promise<void> {
    return this.audit.record({ type, userId, actorId: userId, details: { identityId, issuer } }, manager);
  }

  private async refuseDisabled(userId: string): Promise<never> {
    await this.failed(userId, 'disabled');
    throw new AppError(403, 'account-disabled', 'This account is disabled.');
  }

  private failed(userId: string | null, reason: string): Promise<void> {
    return this.audit.record({ type: 'login.failed', userId, actorId: null, details: { method: 'oidc', reason } });
  }
}
