import { createSecretKey, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import jsonwebtoken from 'jsonwebtoken';
import { isUuid } from '../common/ids.js';
import { AppConfig } from '../config/config.js';
import type { Principal } from '../common/principal.js';

export const JWT_ALGORITHM = 'HS256';
/** How every access token is verified (jsonwebtoken copies it on each call, so one object serves). */
const ACCESS_VERIFY_OPTIONS: jsonwebtoken.VerifyOptions = Object.freeze({
  algorithms: [JWT_ALGORITHM] as jsonwebtoken.Algorithm[],
});
/** How long the second step of a login may wait for its code. */
export const MFA_TOKEN_TTL_SECONDS = 300;

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  typ: 'access';
  iat: number;
  exp: number;
}

/** As passport-jwt's fromAuthHeaderAsBearerToken read it (the guard's way in before). */
const BEARER = /^bearer\s+(\S+)$/i;

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/**
 * The principal named by verified claims, if they are those of an access token.
 * jsonwebtoken checks `exp` only when it is present: a token without one would
 * never expire, so it is refused here.
 */
export function principalOf(claims: Partial<AccessTokenClaims>): Principal | undefined {
  if (claims.typ !== 'access' || !isUuid(claims.sub) || !isUuid(claims.sid)) return undefined;
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return undefined;
  return { userId: claims.sub, sessionId: claims.sid };
}

/**
 * JWT_SECRET as a KeyObject. Given a string, jsonwebtoken first tries to
 * parse it as a PEM public key, failing with an exception on every call: a
 * fifth of the CPU of an authenticated request, measured.
 */
export function jwtKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/** Access tokens whose signature and claims were checked, kept at most (a few hundred bytes each). */
const VERIFIED_TOKENS = 2000;

@Injectable()
export class TokenService {
  private readonly key: KeyObject;
  /**
   * Access tokens already verified, with what they name and until when they are good:
   * a client sends the same token on every request until it expires, and checking it
   * again (base64 and JSON of header and claims twice over, an HMAC) was a tenth of an
   * authenticated request's CPU, measured. Keyed by the whole token, so a different
   * signature or claim is a different entry, verified in full; an entry is used only
   * before its `exp`, as jsonwebtoken would accept it. Only tokens that verified are kept.
   */
  private readonly verified = new Map<string, { userId: string; sessionId: string; exp: number }>();

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
  ) {
    this.key = jwtKey(config.jwtSecret);
  }

  /**
   * The principal an `Authorization: Bearer <access token>` header claims (jsonwebtoken,
   * this key, HS256 only, unexpired, the claims of an access token), or undefined.
   * The session is not checked here: call the Authenticator, which does both.
   */
  principalFromBearer(header: string | undefined): Principal | undefined {
    const token = bearerToken(header);
    if (token === undefined) return undefined;
    const known = this.verified.get(token);
    if (known !== undefined) {
      // jsonwebtoken's rule: expired once the current second reaches `exp`.
      if (Math.floor(Date.now() / 1000) < known.exp) return { userId: known.userId, sessionId: known.sessionId };
      this.verified.delete(token);
    }
    let principal: Principal | undefined;
    let claims: Partial<AccessTokenClaims>;
    try {
      // jsonwebtoken itself, not JwtService.verify: that one copies and merges its options
      // with `delete` on each call, measurable on every authenticated request.
      const verified = jsonwebtoken.verify(token, this.key, ACCESS_VERIFY_OPTIONS);
      if (typeof verified === 'string') return undefined;
      claims = verified as Partial<AccessTokenClaims>;
      principal = principalOf(claims);
    } catch {
      return undefined;
    }
    if (principal === undefined) return undefined;
    if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { ...principal, exp: claims.exp! });
    return principal;
  }

  /**
   * The proof, between the two steps of a login with MFA, that the password was right:
   * an HS256 JWT with `typ: mfa` (never an access token: principalOf refuses it).
   */
  issueMfaToken(userId: string): string {
    return this.jwt.sign(
      { typ: 'mfa' },
      {
        subject: userId,
        algorithm: JWT_ALGORITHM,
        privateKey: this.key as unknown as string,
        expiresIn: MFA_TOKEN_TTL_SECONDS,
      },
    );
  }

  /** The user an unexpired MFA token names, or undefined. */
  userOfMfaToken(token: string): string | undefined {
    try {
      const claims = this.jwt.verify<{ typ?: unknown; sub?: unknown; exp?: unknown }>(token, {
        secret: this.key as unknown as string,
        algorithms: [JWT_ALGORITHM],
      });
      return claims.typ === 'mfa' && isUuid(claims.sub) && typeof claims.exp === 'number' ? claims.sub : undefined;
    } catch {
      return undefined;
    }
  }

  /** A short-lived HS256 JWT: `sub` (user), `sid` (session), `typ: access`, `iat`, `exp`. */
  issueAccessToken(userId: string, sessionId: string): string {
    return this.jwt.sign(
      { sid: sessionId, typ: 'access' },
      {
        subject: userId,
        algorithm: JWT_ALGORITHM,
        privateKey: this.key as unknown as string,
        expiresIn: this.config.accessTokenTtlSeconds,
      },
    );
  }
}
