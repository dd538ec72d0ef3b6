import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/principal.js';
import { SessionsService } from '../sessions/sessions.service.js';
import type { AccessTokenClaims } from './token.service.js';
import { principalOf, TokenService } from './token.service.js';

/**
 * The one authentication check: a credential in (the guard's verified claims, or the
 * fast path's `Authorization` header), the principal out, or undefined. Both apply the
 * same rules through principalOf and the session check, so a credential is honoured by both or by neither; a new kind of
 * credential is added here.
 *
 * Checked: the access token verifies (TokenService: this key, HS256 only, unexpired,
 * `exp` present, the claims of an access token), and its session is live and its user
 * enabled (SessionsService: the session cache, then the database).
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionsService,
  ) {}

  /**
   * The full check (the database when the session cache does not know the session), for
   * claims whose signature passport-jwt already verified with TokenService's key and
   * algorithm: the guard's path verifies each token once.
   */
  async authenticateVerified(claims: Partial<AccessTokenClaims>): Promise<Principal | undefined> {
    return this.live(principalOf(claims));
  }

  private async live(principal: Principal | undefined): Promise<Principal | undefined> {
    if (!principal || !(await this.sessions.isActive(principal.sessionId, principal.userId))) return undefined;
    return principal;
  }

  /**
   * The same check from the session cache alone (undefined when it does not know the
   * session: the caller then takes the full path). `alongside` runs in parallel with the
   * cache read, for the user the token names, so that a caller needing one more cache
   * read for that user pays no extra round trip; its result counts only with a principal.
   */
  async authenticateCached<T>(
    header: string | undefined,
    alongside: (claimed: Principal) => Promise<T>,
  ): Promise<{ principal: Principal; alongside: T } | undefined> {
    const principal = this.tokens.principalFromBearer(header);
    if (!principal) return undefined;
    const [active, extra] = await Promise.all([
      this.sessions.isActive(principal.sessionId, principal.userId, { cachedOnly: true }),
      alongside(principal),
    ]);
    return active ? { principal, alongside: extra } : undefined;
  }
}
