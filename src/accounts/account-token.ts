import { createHash, randomBytes } from 'node:crypto';

export type AccountTokenKind = 'verify-email' | 'reset-password' | 'change-email';

/** 256 random bits, base64url: what the mail's link carries. */
export function newAccountToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Only this is stored: a leaked table holds no usable token. */
export function hashAccountToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Exactly the shape `newAccountToken` makes; anything else is refused before a lookup. */
export function isWellFormedAccountToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}
