import { Injectable } from '@nestjs/common';
import { rateLimitedError } from '../rate-limit/rate-limit.guard.js';
import { RateLimitStorage } from '../rate-limit/rate-limit.storage.js';
import { Metrics } from '../metrics/metrics.service.js';

/** Wrong codes one account may send in a window, from any client, before its code checks are refused. */
export const MFA_FAILURES_MAX = 5;
const MFA_WINDOW_MS = 15 * 60_000;

/**
 * Bounds guessing one account's second factor: after MFA_FAILURES_MAX wrong codes
 * (TOTP or recovery) in 15 minutes, every code check of the account answers 429 until
 * the window ends, whatever the code: with ±1 step, a guess has 3 chances in a million,
 * so an attacker gets about 480 guesses a day. Counted per account in the shared
 * rate-limit storage (Redis when configured), so instances count together; a correct
 * code clears the count.
 */
@Injectable()
export class MfaThrottle {
  constructor(
    private readonly storage: RateLimitStorage,
    private readonly metrics: Metrics,
  ) {}

  async check(userId: string): Promise<void> {
    const waitMs = await this.storage.blockedFor(`mfa-wait:${userId}`);
    if (waitMs <= 0) return;
    this.metrics.rateLimited.inc();
    throw rateLimitedError(waitMs / 1000);
  }

  async failed(userId: string): Promise<void> {
    const counted = await this.storage.increment(`mfa-fail:${userId}`, MFA_WINDOW_MS, MFA_FAILURES_MAX);
    if (counted.totalHits >= MFA_FAILURES_MAX) {
      await this.storage.block(`mfa-wait:${userId}`, counted.timeToExpire * 1000);
    }
  }

  async succeeded(userId: string): Promise<void> {
    await this.storage.reset(`mfa-fail:${userId}`);
  }
}
