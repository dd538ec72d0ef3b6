import { flag, integer, type Parser, url, variable, type VariableTable } from '../config/variables.js';

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

/** As the table reads them: PUBLIC_URL's default depends on PORT (see finishAccountsConfig). */
export type AccountsSettings = Omit<AccountsConfig, 'publicUrl'> & { publicUrl: string | undefined };

/** A display name and an address (`"UltrAI <no-reply@example.com>"`), or a bare address. */
const MAIL_FROM = /^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;

const mailFrom: Parser<string> = (raw, name, problems) => {
  const value = raw ?? 'UltrAI <no-reply@localhost>';
  if (!MAIL_FROM.test(value)) problems.push(`${name} must be an address or "Name <address>" (got "${value}")`);
  return value;
};

/** Without a trailing slash. */
const publicUrl: Parser<string | undefined> = (raw, name, problems) =>
  url(['http:', 'https:'])(raw, name, problems)?.replace(/\/+$/, '');

/** The account module's variables, in README's order. */
export const ACCOUNT_VARIABLES: VariableTable<AccountsSettings> = {
  smtpUrl: variable('SMTP_URL', url(['smtp:', 'smtps:']), {
    default: 'unset: mail off',
    meaning:
      "`smtp://user:pass@host:587` (STARTTLS whenever the server offers it) or `smtps://user:pass@host:465`; `?tls.rejectUnauthorized=false` for a test server's certificate. Unset: development logs mails, production answers 503 where mail is needed (see below)",
  }),
  mailFrom: variable('MAIL_FROM', mailFrom, {
    default: '`UltrAI <no-reply@localhost>`',
    meaning: 'sender of every mail: an address or `Name <address>`',
  }),
  publicUrl: variable('PUBLIC_URL', publicUrl, {
    default: 'unset: `http://localhost:` and `PORT`',
    meaning: 'base of the links in mails (the web app serving `/verify-email` and `/reset-password`)',
  }),
  verifyEmailTtlSeconds: variable('VERIFY_EMAIL_TTL_SECONDS', integer(86_400, 60, 30 * 86_400), {
    default: '`86400`',
    meaning: 'life of an email verification link, `60`–`2592000`',
  }),
  resetPasswordTtlSeconds: variable('RESET_PASSWORD_TTL_SECONDS', integer(3600, 60, 86_400), {
    default: '`3600`',
    meaning: 'life of a password reset link, `60`–`86400`',
  }),
  emailChangeTtlSeconds: variable('EMAIL_CHANGE_TTL_SECONDS', integer(86_400, 60, 30 * 86_400), {
    default: '`86400`',
    meaning: 'life of an email change confirmation link, `60`–`2592000`',
  }),
  mailRetryBaseMs: variable('MAIL_RETRY_BASE_MS', integer(10_000, 10, 3_600_000), {
    default: '`10000`',
    meaning:
      'first retry delay after a temporary SMTP failure, `10`–`3600000`, doubled each attempt (capped at 1 h; given up after 15 attempts)',
  }),
  mailPollIntervalMs: variable('MAIL_POLL_INTERVAL_MS', integer(5000, 10, 600_000), {
    default: '`5000`',
    meaning: 'how often each instance looks for due mails, `10`–`600000` (a new mail is sent at once)',
  }),
  requireVerifiedEmail: variable('REQUIRE_VERIFIED_EMAIL', flag(false), {
    default: '`false`',
    meaning:
      '`true`: accounts with an unverified address get 403 `email-not-verified` on document writes (production needs `SMTP_URL` then)',
  }),
  accountRateLimitMax: variable('ACCOUNT_RATE_LIMIT_MAX', integer(5, 1, 10_000_000), {
    default: '`5`',
    meaning:
      'requests per window to each of verify, resend, forgot and reset, `1`–`10000000`, counted per IP, per email address and per account',
  }),
  accountRateLimitWindowMs: variable('ACCOUNT_RATE_LIMIT_WINDOW_MS', integer(900_000, 1000, 86_400_000), {
    default: '`900000`',
    meaning: 'that window (15 min), `1000`–`86400000`',
  }),
  auditRetentionDays: variable('AUDIT_RETENTION_DAYS', integer(90, 1, 3650), {
    default: '`90`',
    meaning: 'audit events older than this are deleted (hourly, one instance at a time), `1`–`3650`',
  }),
};

/** The rules that involve other settings. */
export function finishAccountsConfig(
  settings: AccountsSettings,
  { production, port }: { production: boolean; port: number },
  problems: string[],
): AccountsConfig {
  if (production && settings.requireVerifiedEmail && settings.smtpUrl === undefined) {
    problems.push('REQUIRE_VERIFIED_EMAIL=true needs SMTP_URL in production (nobody could verify an address)');
  }
  return { ...settings, publicUrl: settings.publicUrl ?? `http://localhost:${port}` };
}
