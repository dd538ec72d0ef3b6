import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/principal.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { PAT_PREFIX } from '../tokens/personal-access-token.js';
import { TokensService } from '../tokens/tokens.service.js';
import { type Scope, scopeRefusal } from './scopes.decorator.js';
import { bearerToken, TokenService } from './token.service.js';

/**
 * The one authentication check: a credential in (the guard's verified claims, or the
 * `Authorization` header), the principal out, or undefined. The guard and the cached-read
 * fast path both come here and apply the same rules, so a credential is honoured by both
 * or by neither; a new kind of credential is added here.
 *
 * Checked: an access token verifies (TokenService: this key, HS256 only, unexpired,
 * `exp` present, the claims of an access token), and its session is live and its user
 * enabled (SessionsService: the session cache, then the database). A personal access
 * token (`uc_pat_…`) is live, unexpired and its user enabled (TokensService: the token
 * cache, then the database); its scopes are checked against the route's by scopeRefusal.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionsService,
    private readonly accessTokens: TokensService,
  ) {}

  /** True when the header carries a personal access token (`uc_pat_…`), not a JWT. */
  static carriesPersonalAccessToken(header: string | undefined): boolean {
    return bearerToken(header)?.startsWith(PAT_PREFIX) ?? false;
  }

  /** The full check of a personal access token header (the database when the token cache does not know it). */
  authenticateToken(header: string | undefined): Promise<Principal | undefined> {
    const token = bearerToken(header);
    return token === undefined ? Promise.resolve(undefined) : this.accessTokens.authenticate(token);
  }

  /**
   * The full check of an `Authorization: Bearer` header (an access token or a personal
   * access token): the guard's, and that of a route that is public to the guard because it
   * also takes another credential (GET /events takes a stream ticket). The caller checks a
   * personal access token's scope (scopeRefusal), as the guard does.
   */
  async authenticateHeader(header: string | undefined): Promise<Principal | undefined> {
    if (Authenticator.carriesPersonalAccessToken(header)) return this.authenticateToken(header);
    return this.live(this.tokens.principalFromBearer(header));
  }

  /** The session and user checks alone, for a principal another credential vouched for (a stream ticket). */
  async live(principal: Principal | undefined): Promise<Principal | undefined> {
    return this.liveSession(principal);
  }

  private async liveSession(principal: Principal | undefined): Promise<Principal | undefined> {
    if (!principal || !(await this.sessions.isActive(principal.sessionId, principal.userId))) return undefined;
    return principal;
  }

  /**
   * The same check from the caches alone (undefined when they do not know the
   * credential, or when its scopes do not open a route declaring `scope`: the caller then
   * takes the full path, which answers as it must). `alongside` runs in parallel with the
   * cache read, for the user the token names, so that a caller needing one more cache
   * read for that user pays no extra round trip; its result counts only with a principal.
   */
  async authenticateCached<T>(
    header: string | undefined,
    scope: Scope | undefined,
    alongside: (claimed: Principal) => Promise<T>,
  ): Promise<{ principal: Principal; alongside: T } | undefined> {
    if (Authenticator.carriesPersonalAccessToken(header)) {
      const token = bearerToken(header)!;
      // A token this process has seen names its user without a lookup: both reads in parallel.
      const owner = this.accessTokens.knownOwner(token);
      if (owner === undefined) return undefined;
      const [principal, extra] = await Promise.all([
        this.accessTokens.authenticate(token, { cachedOnly: true }),
        alongside({ userId: owner, sessionId: '' }),
      ]);
      if (!principal || principal.userId !== owner || scopeRefusal(principal, scope)) return undefined;
      return { principal, alongside: extra };
    }
    const principal = this.tokens.principalFromBearer(header);
    if (!principal) return undefined;
    const [active, extra] = await Promise.all([
      this.sessions.isActive(principal.sessionId, principal.userId, { cachedOnly: true }),
      alongside(principal),
    ]);
    return active ? { principal, alongside: extra } : undefined;
  }
}
