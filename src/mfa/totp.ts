import { Secret, TOTP } from 'otpauth';

/** RFC 6238 as every authenticator app reads an otpauth:// URL by default. */
const PARAMETERS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
/** One step either side: a code typed just before the phone's clock ticked, or a clock a little off. */
const WINDOW = 1;
const ISSUER = 'UltrAI';

/** A new secret: 160 random bits (RFC 4226's recommendation), base32 as apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export function otpauthUrl(secret: string, account: string): string {
  return new TOTP({ issuer: ISSUER, label: account, secret: Secret.fromBase32(secret), ...PARAMETERS }).toString();
}

/**
 * The time step (30 s since the epoch) `code` belongs to, within one step of `now`,
 * or undefined. The caller refuses a step already used: a code works once.
 */
export function totpStep(secret: string, code: string, now = Date.now()): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secret),
    timestamp: now,
    window: WINDOW,
    ...PARAMETERS,
  });
  return delta === null ? undefined : TOTP.counter({ period: PARAMETERS.period, timestamp: now }) + delta;
}
