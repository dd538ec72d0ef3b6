import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returningRows } from '../database/returning.js';

export interface ClaimedJob {
  documentId: string;
  /** Claims so far, this one included. */
  attempts: number;
}

/** The pdf_text_jobs table: one row per PDF whose text is still to be extracted. */
@Injectable()
export class PdfTextJobs {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Takes the oldest due job for this instance. One statement, no transaction
   * held while the worker runs (PGlite has a single connection): the claim
   * pushes the job's due time a lease into the future, so other instances skip
   * it, and a crashed instance's job comes due again when the lease ends.
   */
  async claim(leaseSeconds: number): Promise<ClaimedJob | undefined> {
    const rows = await this.dataSource.query(
      `UPDATE pdf_text_jobs SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $1)
        WHERE document_id IN (
          SELECT document_id FROM pdf_text_jobs WHERE next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING document_id AS "documentId", attempts`,
      [leaseSeconds],
    );
    return returningRows<ClaimedJob>(rows)[0];
  }

  /**
   * Stores the text (indexed for search by the `search` column) or the failure,
   * and drops the job, in one statement. Returns the document's owner, or
   * undefined when the document is gone.
   */
  async finish(documentId: string, text: string | null): Promise<string | undefined> {
    const rows = await this.dataSource.query(
      `WITH job AS (DELETE FROM pdf_text_jobs WHERE document_id = $1)
       UPDATE documents SET text_content = $2, text_status = CASE WHEN $2::text IS NULL THEN 'failed' ELSE 'indexed' END
        WHERE id = $1 RETURNING owner_id AS "ownerId"`,
      [documentId, text],
    );
    return returningRows<{ ownerId: string }>(rows)[0]?.ownerId;
  }

  /** Gives a claimed job back at once (this instance is stopping), without counting the attempt. */
  async release(documentId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE pdf_text_jobs SET next_attempt_at = now(), attempts = greatest(attempts - 1, 0) WHERE document_id = $1`,
      [documentId],
    );
  }
}
