import { type BeforeApplicationShutdown, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppLogger } from '../common/logger.js';
import { ServiceUnavailableError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import { Database } from '../database/database.js';
import { type ClaimedMail, MailOutbox } from './mail-outbox.js';
import { DeliveryError, logTransport, type MailTransport, smtpTransport } from './mail-transport.js';

const BATCH = 10;
/** Longer than the SMTP timeouts of one delivery (see smtpTransport). */
const LEASE_SECONDS = 300;
const MAX_RETRY_DELAY_MS = 3_600_000;
/** With the default 10 s base, about 6 hours of retries before a mail is given up. */
const MAX_ATTEMPTS = 15;

/**
 * Delivers the outbox: at once when this instance enqueued a mail, and every
 * MAIL_POLL_INTERVAL_MS for retries and other instances' mails. Rows are
 * claimed with FOR UPDATE SKIP LOCKED, so each mail goes out through one
 * instance only.
 */
@Injectable()
export class MailSender implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly transport: MailTransport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly outbox: MailOutbox,
    private readonly database: Database,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const { smtpUrl, mailFrom } = config.accounts;
    if (smtpUrl) this.transport = smtpTransport(smtpUrl, mailFrom);
    else if (!config.production) this.transport = logTransport(logger);
  }

  /** False only in production without SMTP_URL: routes that need mail answer 503. */
  get enabled(): boolean {
    return this.transport !== undefined;
  }

  assertEnabled(): void {
    if (!this.enabled) {
      throw new ServiceUnavailableError('Mail is not configured on this server, so this cannot be done now.');
    }
  }

  onApplicationBootstrap(): void {
    if (!this.transport) {
      this.logger.warn(
        'MAIL IS OFF: SMTP_URL is not set. Email verification, password reset and email change answer 503 until it is.',
        'Mail',
      );
      return;
    }
    if (!this.config.accounts.smtpUrl) {
      this.logger.log('No SMTP_URL: mails are logged and kept in the outbox (npm run cli -- mail:outbox)', 'Mail');
    }
    this.timer = setInterval(() => this.wake(), this.config.accounts.mailPollIntervalMs).unref();
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    while (this.running) await this.running;
    this.transport?.close();
  }

  /** Starts a delivery round, or asks the running one to look again when it ends. */
  wake(): void {
    if (this.stopped || !this.transport) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.deliverDue().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Delivers everything due now and resolves when done (tests, the CLI). */
  async drain(): Promise<void> {
    this.wake();
    while (this.running) await this.running;
  }

  private async deliverDue(): Promise<void> {
    try {
      while (!this.stopped && this.database.ready) {
        const batch = await this.outbox.claimDue(BATCH, LEASE_SECONDS);
        if (batch.length === 0) return;
        await Promise.all(batch.map((mail) => this.deliver(mail)));
      }
    } catch (error) {
      // The database is away: the next round (timer) tries again.
      this.logger.warn(`Mail outbox unavailable: ${(error as Error).message}`, 'Mail');
    }
  }

  private async deliver(mail: ClaimedMail): Promise<void> {
    try {
      await this.transport!.send(mail);
    } catch (error) {
      const failure = error instanceof DeliveryError ? error : new DeliveryError(String(error), false);
      if (failure.permanent || mail.attempts >= MAX_ATTEMPTS) {
        this.logger.warn(`Mail ${mail.id} (${mail.kind}) given up after ${mail.attempts} attempt(s)`, 'Mail');
        await this.outbox.markFailed(mail.id, failure.message);
        return;
      }
      const delay = Math.min(MAX_RETRY_DELAY_MS, this.config.accounts.mailRetryBaseMs * 2 ** (mail.attempts - 1));
      this.logger.warn(`Mail ${mail.id} (${mail.kind}) not delivered, retry in ${delay} ms`, 'Mail');
      await this.outbox.scheduleRetry(mail.id, delay, failure.message);
      return;
    }
    if (this.config.accounts.smtpUrl) await this.outbox.markSent(mail.id);
    else await this.outbox.markLogged(mail.id);
  }
}
