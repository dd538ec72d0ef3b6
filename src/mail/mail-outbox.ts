import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { returningRows } from '../database/returning.js';
import type { MailKind, OutgoingMail } from './mail-templates.js';

export interface ClaimedMail {
  id: string;
  kind: MailKind;
  recipient: string;
  subject: string;
  text: string;
  html: string;
  attempts: number;
}

export interface OutboxEntry {
  id: string;
  kind: MailKind;
  recipient: string;
  subject: string;
  status: 'pending' | 'sent' | 'failed' | 'logged';
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  text: string | null;
}

/**
 * The mail outbox table. A mail is enqueued in the caller's transaction (with
 * the token it carries), so it exists exactly when the token does.
 */
@Injectable()
export class MailOutbox {
  constructor(private readonly dataSource: DataSource) {}

  async enqueue(manager: EntityManager, mail: OutgoingMail): Promise<void> {
    await manager.query(
      `INSERT INTO mail_outbox (kind, recipient, subject, text_body, html_body) VALUES ($1, $2, $3, $4, $5)`,
      [mail.kind, mail.recipient, mail.subject, mail.text, mail.html],
    );
  }

  /**
   * Takes up to `limit` due mails for this instance. One statement, no open
   * transaction while the mail travels (PGlite has a single connection): the
   * claim pushes the rows' due time a lease into the future, so other
   * instances skip them, and a crashed sender's rows come due again.
   */
  async claimDue(limit: number, leaseSeconds: number): Promise<ClaimedMail[]> {
    const rows = await this.dataSource.query(
      `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
        WHERE id IN (
          SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, recipient, subject, text_body AS text, html_body AS html, attempts`,
      [limit, leaseSeconds],
    );
    return returningRows<ClaimedMail>(rows);
  }

  /** Sent (or given up): the bodies, which carry live tokens, are not kept. */
  async markSent(id: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox SET status = 'sent', sent_at = now(), text_body = NULL, html_body = NULL, last_error = NULL
        WHERE id = $1`,
      [id],
    );
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox SET status = 'failed', last_error = $2, text_body = NULL, html_body = NULL WHERE id = $1`,
      [id, error.slice(0, 500)],
    );
  }

  async scheduleRetry(id: string, delayMs: number, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1`,
      [id, delayMs / 1000, error.slice(0, 500)],
    );
  }

  /** Development without SMTP: the mail was written to the log and stays here for `mail:outbox`. */
  async markLogged(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE mail_outbox SET status = 'logged', sent_at = now() WHERE id = $1`, [id]);
  }

  async latest(limit: number): Promise<OutboxEntry[]> {
    return this.dataSource.query(
      `SELECT id, kind, recipient, subject, status, attempts, last_error AS "lastError", created_at AS "createdAt",
              text_body AS text
         FROM mail_outbox ORDER BY created_at DESC, id DESC LIMIT $1`,
      [limit],
    );
  }
}
