/** Mail, account tokens and the audit log, read with the rest of the configuration. */
export interface AccountsConfig {
  /** Unset: mail is off (logged in development, refused with 503 in production). */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Base of the links in mails, without a trailing slash. */
  publicUrl: string;
  verifyEmailTtlSeconds: number;
  resetPasswordTtlSeconds: number;
  emailChangeTtlSeconds: number;
  /** First retry delay of a mail after a temporary failure; doubles on each attempt. */
  mailRetryBaseMs: number;
  /** How often each instance looks for due mails (new mails are also sent at once). */
  mailPollIntervalMs: number;
  requireVerifiedEmail: boolean;
  /** Requests per IP, and per email address, per window to each account-recovery route. */
  accountRateLimitMax: number;
  accountRateLimitWindowMs: number;
  auditRetentionDays: number;
}

interface Readers {
  read(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number): number;
  url(name: string, protocols: string[]): string | undefined;
  boolean(name: string, fallback: boolean): boolean;
  problems: string[];
  production: boolean;
  port: number;
}

/** A display name and an address (`"UltrAI <no-reply@example.com>"`), or a bare address. */
const MAIL_FROM = /^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;

export function readAccountsConfig({
  read,
  integer,
  url,
  boolean,
  problems,
  production,
  port,
}: Readers): AccountsConfig {
  const smtpUrl = url('SMTP_URL', ['smtp:', 'smtps:']);
  const mailFrom = read('MAIL_FROM') ?? 'UltrAI <no-reply@localhost>';
  if (!MAIL_FROM.test(mailFrom)) {
    problems.push(`MAIL_FROM must be an address or "Name <address>" (got "${mailFrom}")`);
  }
  const publicUrl = (url('PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, '');

  const requireVerifiedEmail = boolean('REQUIRE_VERIFIED_EMAIL', false);
  if (production && requireVerifiedEmail && read('SMTP_URL') === undefined) {
    problems.push('REQUIRE_VERIFIED_EMAIL=true needs SMTP_URL in production (nobody could verify an address)');
  }

  return {
    smtpUrl,
    mailFrom,
    publicUrl,
    verifyEmailTtlSeconds: integer('VERIFY_EMAIL_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    resetPasswordTtlSeconds: integer('RESET_PASSWORD_TTL_SECONDS', 3600, 60, 86_400),
    emailChangeTtlSeconds: integer('EMAIL_CHANGE_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    mailRetryBaseMs: integer('MAIL_RETRY_BASE_MS', 10_000, 10, 3_600_000),
    mailPollIntervalMs: integer('MAIL_POLL_INTERVAL_MS', 5000, 10, 600_000),
    requireVerifiedEmail,
    accountRateLimitMax: integer('ACCOUNT_RATE_LIMIT_MAX', 5, 1, 10_000_000),
    accountRateLimitWindowMs: integer('ACCOUNT_RATE_LIMIT_WINDOW_MS', 900_000, 1000, 86_400_000),
    auditRetentionDays: integer('AUDIT_RETENTION_DAYS', 90, 1, 3650),
  };
}
