import { createHash, randomBytes } from 'node:crypto';

/** Marks our tokens, so secret scanners (and the authenticator) can tell one at a glance. */
export const PAT_PREFIX = 'uc_pat_';
/** 256 random bits, base64url: 43 characters. */
const PAT = /^uc_pat_[A-Za-z0-9_-]{43}$/;
/** Shown in lists to tell tokens apart: the marker and the first 4 secret characters. */
const SHOWN_PREFIX_LENGTH = PAT_PREFIX.length + 4;

export function newPersonalAccessToken(): string {
  return PAT_PREFIX + randomBytes(32).toString('base64url');
}

export function isPersonalAccessToken(token: string): boolean {
  return PAT.test(token);
}

/** SHA-256 is enough (no argon2): the secret has 256 random bits, there is nothing to guess. */
export function hashPersonalAccessToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function shownPrefix(token: string): string {
  return token.slice(0, SHOWN_PREFIX_LENGTH);
}
