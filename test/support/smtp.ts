import { SMTPServer } from 'smtp-server';
import { freePort } from './process.js';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  /** The decoded message (headers and every part, quoted-printable undone). */
  body: string;
  /** Whether the session was upgraded with STARTTLS before the mail was sent. */
  secure: boolean;
  /** The token of the first link to /verify-email or /reset-password, if any. */
  token?: string;
  link?: string;
}

const LINK = /(https?:\/\/[^\s"<>]+\/(?:verify-email|reset-password)\?token=([A-Za-z0-9_-]+))/;

/** Quoted-printable and soft line breaks undone, bytes read as UTF-8. */
function decode(raw: string): string {
  const joined = raw.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined[i] === '=' ? joined.slice(i + 1, i + 3) : '';
    if (/^[0-9A-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(joined[i]));
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A real SMTP server (nodemailer's smtp-server) on a free local port, offering
 * STARTTLS with its built-in test certificate. It can be stopped and started
 * again on the same port (an outage), and told to refuse recipients with 550.
 */
export class SmtpSink {
  readonly messages: ReceivedMail[] = [];
  /** Recipients answered `550 No such user` (a permanent failure). */
  readonly refuse = new Set<string>();
  private server: SMTPServer | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly port: number) {}

  static async start(): Promise<SmtpSink> {
    const sink = new SmtpSink(await freePort());
    await sink.up();
    return sink;
  }

  /** For SMTP_URL; the certificate is the test one, so it is not verified. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}?tls.rejectUnauthorized=false`;
  }

  async up(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      logger: false,
      onRcptTo: (address, _session, callback) => {
        if (!this.refuse.has(address.address)) return callback();
        const error = Object.assign(new Error('No such user here'), { responseCode: 550 });
        callback(error);
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const body = decode(Buffer.concat(chunks).toString('latin1'));
          const match = LINK.exec(body);
          this.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: /^Subject: (.*)$/m.exec(body)?.[1]?.trim() ?? '',
            body,
            secure: session.secure,
            link: match?.[1],
            token: match?.[2],
          });
          for (const wake of this.waiters.splice(0)) wake();
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The mails received for `to` so far. */
  to(address: string): ReceivedMail[] {
    return this.messages.filter((m) => m.to.includes(address));
  }

  /** Resolves with the `count`-th mail to `address` (1 = the first), waiting for it if needed. */
  async mail(address: string, count: number, timeoutMs = 20_000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    while (this.to(address).length < count) {
      if (Date.now() > deadline) {
        throw new Error(`no mail #${count} to ${address} within ${timeoutMs} ms (got ${this.to(address).length})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.to(address)[count - 1];
  }
}
