import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { rateLimitedError } from '../rate-limit/rate-limit.guard.js';
import { RateLimitStorage } from '../rate-limit/rate-limit.storage.js';
import { AppConfig } from '../config/config.js';
import { Metrics } from '../metrics/metrics.service.js';

/**
 * Slows down guessing one account's password from many IPs (the per-IP limit
 * cannot): after ACCOUNT_LOGIN_FAILURES_MAX failed logins in a window, the
 * account's logins answer 429 for 1 s, then 2, 4... up to
 * ACCOUNT_LOGIN_DELAY_MAX_SECONDS after each further failure. Nothing is ever
 * disabled: once an attacker stops, the owner waits at most that bound, and a
 * success clears the count.
 *
 * Counted by email, whether or not an account has it, so an unknown email is
 * slowed down exactly like a known one; the email is hashed into the key. While
 * slowed down the password is not checked at all: no guess is tried, and no
 * argon2 time is spent.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    private readonly storage: RateLimitStorage,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  /** Throws a 429 while this email's logins are slowed down. */
  async check(email: string): Promise<void> {
    const waitMs = await this.storage.blockedFor(this.key('login-wait', email));
    if (waitMs <= 0) return;
    this.metrics.rateLimited.inc();
    throw rateLimitedError(waitMs / 1000);
  }

  async failed(email: string): Promise<void> {
    const {
      accountLoginFailuresMax: max,
      accountLoginWindowMs: window,
      accountLoginDelayMaxSeconds: cap,
    } = this.config;
    const { totalHits } = await this.storage.increment(this.key('login-fail', email), window, max);
    const over = totalHits - max;
    if (over < 0) return;
    await this.storage.block(this.key('login-wait', email), Math.min(2 ** Math.min(over, 20), cap) * 1000);
  }

  async succeeded(email: string): Promise<void> {
    await this.storage.reset(this.key('login-fail', email));
  }

  private key(kind: string, email: string): string {
    return `${kind}:${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32)}`;
  }
}
