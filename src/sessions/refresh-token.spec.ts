import {
  decideRotation,
  formatRefreshToken,
  hashRefreshSecret,
  newRefreshSecret,
  parseRefreshToken,
  type SessionTokenState,
} from './refresh-token.js';

const SID = '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

describe('refresh tokens', () => {
  it('round-trip through format and parse', () => {
    const secret = newRefreshSecret();
    expect(parseRefreshToken(formatRefreshToken({ sessionId: SID, secret }))).toEqual({ sessionId: SID, secret });
  });

  it('are random: 256 bits of base64url, never the same twice', () => {
    const secrets = new Set(Array.from({ length: 100 }, newRefreshSecret));
    expect(secrets.size).toBe(100);
    for (const s of secrets) expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    ['empty', ''],
    ['no dot', SID],
    ['not a uuid', `abc.${'a'.repeat(43)}`],
    ['short secret', `${SID}.abc`],
    ['bad characters', `${SID}.${'a'.repeat(42)}!`],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'],
  ])('refuse a malformed value (%s)', (_name, value) => {
    expect(parseRefreshToken(value)).toBeNull();
  });

  it('store as a SHA-256 hex digest, not the secret', () => {
    const secret = newRefreshSecret();
    const hash = hashRefreshSecret(secret);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(hashRefreshSecret(secret)).toBe(hash);
  });
});

describe('rotation rules', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const base: SessionTokenState = {
    refreshTokenHash: 'current',
    previousTokenHash: 'previous',
    retiredTokenHashes: ['previous', 'older'],
    rotatedAt: new Date(now.getTime() - 5_000),
    expiresAt: new Date(now.getTime() + 86_400_000),
    revokedAt: null,
  };

  it('rotates from the current token', () => {
    expect(decideRotation(base, 'current', now, 10)).toEqual({ kind: 'rotate', from: 'current' });
  });

  it('accepts the token just replaced within the grace window, rotating from the current one', () => {
    expect(decideRotation(base, 'previous', now, 10)).toEqual({ kind: 'rotate-in-grace', from: 'current' });
  });

  it('treats the token just replaced, after the window, as reuse', () => {
    expect(decideRotation(base, 'previous', now, 4)).toEqual({ kind: 'reuse' });
  });

  it('treats an older token the session issued as reuse', () => {
    expect(decideRotation(base, 'older', now, 10)).toEqual({ kind: 'reuse' });
  });

  it('refuses, without revoking, a secret the session never issued', () => {
    expect(decideRotation(base, 'guessed', now, 10)).toEqual({ kind: 'refuse' });
    expect(decideRotation({ ...base, previousTokenHash: null, retiredTokenHashes: [] }, 'guessed', now, 10)).toEqual({
      kind: 'refuse',
    });
  });

  it('has no grace when the session never rotated', () => {
    expect(decideRotation({ ...base, retiredTokenHashes: ['previous'], rotatedAt: null }, 'previous', now, 10)).toEqual(
      { kind: 'reuse' },
    );
  });

  it('refuses a revoked or expired session whatever the token', () => {
    expect(decideRotation({ ...base, revokedAt: now }, 'current', now, 10)).toEqual({ kind: 'refuse' });
    expect(decideRotation({ ...base, expiresAt: now }, 'current', now, 10)).toEqual({ kind: 'refuse' });
  });
});
