import { createHash, randomBytes } from 'node:crypto';
import { isUuid } from '../common/ids.js';

/**
 * A refresh token is `<session id>.<secret>`: the id finds the session (so a
 * replayed old token can be traced to its family), the 256-bit random secret
 * proves possession. Only SHA-256 of the secret is stored; a slow hash adds
 * nothing for a random value of this size.
 */
export interface RefreshToken {
  sessionId: string;
  secret: string;
}

const SECRET = /^[A-Za-z0-9_-]{43}$/;

export function newRefreshSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function formatRefreshToken(token: RefreshToken): string {
  return `${token.sessionId}.${token.secret}`;
}

export function parseRefreshToken(value: string): RefreshToken | null {
  const dot = value.indexOf('.');
  if (dot < 0) return null;
  const sessionId = value.slice(0, dot);
  const secret = value.slice(dot + 1);
  return isUuid(sessionId) && SECRET.test(secret) ? { sessionId: sessionId.toLowerCase(), secret } : null;
}

export function hashRefreshSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * How many rotated-away token hashes a session remembers. A replay of one of
 * them revokes the session; anything else is a plain refusal. A token older
 * than this many rotations is refused without revoking (it can do nothing).
 */
export const RETIRED_TOKENS_KEPT = 64;

export type RotationDecision =
  /** The presented token is the current one: rotate from it. */
  | { kind: 'rotate'; from: string }
  /** The token just replaced, within the grace window (another tab got there first): rotate again. */
  | { kind: 'rotate-in-grace'; from: string }
  /** A token this session issued and rotated away, presented again: someone replayed it. Revoke the session. */
  | { kind: 'reuse' }
  /**
   * Expired or revoked session, or a secret this session never issued (anyone can
   * read a session id in an access token): refuse, nothing to change.
   */
  | { kind: 'refuse' };

export interface SessionTokenState {
  refreshTokenHash: string;
  previousTokenHash: string | null;
  retiredTokenHashes: string[];
  rotatedAt: Date | null;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** The rotation rules, in one pure function. */
export function decideRotation(
  session: SessionTokenState,
  presentedHash: string,
  now: Date,
  graceSeconds: number,
): RotationDecision {
  if (session.revokedAt !== null || session.expiresAt <= now) return { kind: 'refuse' };
  if (presentedHash === session.refreshTokenHash) return { kind: 'rotate', from: session.refreshTokenHash };
  if (
    presentedHash === session.previousTokenHash &&
    session.rotatedAt !== null &&
    now.getTime() - session.rotatedAt.getTime() <= graceSeconds * 1000
  ) {
    return { kind: 'rotate-in-grace', from: session.refreshTokenHash };
  }
  if (presentedHash === session.previousTokenHash || session.retiredTokenHashes.includes(presentedHash)) {
    return { kind: 'reuse' };
  }
  return { kind: 'refuse' };
}
