import type { AppLogger } from '../common/logger.js';
import { traced } from '../common/trace-context.js';
import type { ClaimedMail } from './mail-outbox.js';

export interface MailTransport {
  send(mail: ClaimedMail): Promise<void>;
  close(): void;
}

/** How a delivery failed: worth retrying later, or refused for good. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/**
 * An SMTP server's 5xx answer is final (unknown mailbox, refused content);
 * anything else (no connection, timeout, 4xx) may pass later. A refused login
 * (535) is the operator's to fix, so mails wait for the fix instead of failing.
 */
export function toDeliveryError(error: unknown): DeliveryError {
  const { responseCode, code, message } = error as { responseCode?: number; code?: string; message?: string };
  const permanent = typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600 && code !== 'EAUTH';
  return new DeliveryError(`${responseCode ?? code ?? 'error'}: ${message ?? String(error)}`, permanent);
}

/**
 * Nodemailer over SMTP, loaded on the first mail so an idle instance does not
 * pay for it. Pooled connections; STARTTLS whenever the server offers it.
 */
export function smtpTransport(smtpUrl: string, from: string): MailTransport {
  let mailer: Promise<import('nodemailer').Transporter> | undefined;
  const load = () =>
    (mailer ??= import('nodemailer').then((nodemailer) =>
      nodemailer.createTransport({
        url: smtpUrl,
        pool: true,
        maxConnections: 3,
        // Well inside the outbox lease, so no mail is still in flight when it may be claimed again.
        connectionTimeout: 30_000,
        greetingTimeout: 30_000,
        socketTimeout: 60_000,
      }),
    ));
  return {
    async send(mail) {
      const transporter = await load();
      try {
        await traced('smtp send', 'client', { 'messaging.system': 'smtp', 'mail.kind': mail.kind }, () =>
          transporter.sendMail({
            from,
            to: mail.recipient,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
          }),
        );
      } catch (error) {
        throw toDeliveryError(error);
      }
    },
    close() {
      void mailer?.then((transporter) => transporter.close());
    },
  };
}

const LINK = /https?:\/\/\S+[?&]token=\S+/;

/**
 * Development without SMTP_URL: the subject and the link go to the log, so a
 * developer can follow every flow. The link carries a live token, which is why
 * this transport never runs in production (mail is off there instead).
 */
export function logTransport(logger: AppLogger): MailTransport {
  return {
    async send(mail) {
      const link = LINK.exec(mail.text)?.[0];
      logger.log(`Mail not sent (no SMTP_URL): "${mail.subject}"${link ? ` ${link}` : ''}`, 'Mail');
    },
    close() {},
  };
}
