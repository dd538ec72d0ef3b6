import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { returningRows } from '../database/returning.js';

export interface ClaimedJob {
  documentId: string;
  /** Claims so far, this one included. */
  attempts: number;
  /** The document's content version when claimed: text of an older one is not stored. */
  contentVersion: number;
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
        RETURNING document_id AS "documentId", attempts,
          (SELECT content_version FROM documents WHERE id = document_id) AS "contentVersion"`,
      [leaseSeconds],
    );
    return returningRows<ClaimedJob>(rows)[0];
  }

  /**
   * Stores the text (indexed for search by the `search` column) or the failure,
   * and drops the job, in one statement, when the document still has the content
   * version the job was claimed for. Returns whether it stored anything: not when
   * the document is gone, nor when a new version came meanwhile (which queued
   * the job again, so it stays).
   */
  async finish(job: ClaimedJob, text: string | null): Promise<boolean> {
    const rows = await this.dataSource.query(
      `WITH doc AS (
         UPDATE documents SET text_content = $2, text_status = CASE WHEN $2::text IS NULL THEN 'failed' ELSE 'indexed' END
          WHERE id = $1 AND content_version = $3 RETURNING id
       ), job AS (DELETE FROM pdf_text_jobs WHERE document_id IN (SELECT id FROM doc))
       SELECT id FROM doc`,
      [job.documentId, text, job.contentVersion],
    );
    return rows.length > 0;
  }

  /** Gives a claimed job back at once (this instance is stopping), without counting the attempt. */
  async release(documentId: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE pdf_text_jobs SET next_attempt_at = now(), attempts = greatest(attempts - 1, 0) WHERE document_id = $1`,
      [documentId],
    );
  }
}
