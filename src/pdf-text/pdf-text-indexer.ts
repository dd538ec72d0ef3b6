import { type BeforeApplicationShutdown, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { CacheGenerations } from '../cache/cache-generations.js';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { Database } from '../database/database.js';
import { DocumentsRepository } from '../documents/documents.repository.js';
import { DocumentBytes } from './document-bytes.js';
import { ExtractionStopped, extractPdfText } from './pdf-extractor.js';
import { type ClaimedJob, PdfTextJobs } from './pdf-text-jobs.js';

/** A job claimed this many times without an answer (its instance died each time) is given up. */
const MAX_ATTEMPTS = 3;

/**
 * Works through the PDF text jobs: up to PDF_TEXT_WORKERS extractions at once
 * on this instance, each in a worker thread of its own (pdf-extractor.ts),
 * woken by each PDF upload and every PDF_TEXT_POLL_INTERVAL_MS (for jobs left
 * by a restart or another instance).
 */
@Injectable()
export class PdfTextIndexer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  private readonly runs = new Set<Promise<void>>();
  /** A wake came while every runner was busy: the one that runs out of jobs looks once more. */
  private wokenWhileBusy = false;

  constructor(
    private readonly jobs: PdfTextJobs,
    private readonly bytes: DocumentBytes,
    private readonly documents: DocumentsRepository,
    private readonly database: Database,
    private readonly cache: CacheGenerations,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.documents.pdfTextWorkers === 0) return;
    this.timer = setInterval(() => this.wake(), this.config.documents.pdfTextPollIntervalMs).unref();
    this.wake();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await Promise.allSettled([...this.runs]);
  }

  /** Starts runners up to the limit; each takes jobs until none is due. */
  wake(): void {
    const limit = this.config.documents.pdfTextWorkers;
    if (this.stopping.signal.aborted || !this.database.ready || limit === 0) return;
    if (this.runs.size >= limit) this.wokenWhileBusy = true;
    while (this.runs.size < limit) {
      const run: Promise<void> = this.drain().finally(() => this.runs.delete(run));
      this.runs.add(run);
    }
  }

  private async drain(): Promise<void> {
    const { pdfTextTimeoutMs } = this.config.documents;
    const leaseSeconds = Math.ceil((2 * pdfTextTimeoutMs) / 1000) + 60;
    while (!this.stopping.signal.aborted) {
      let job: ClaimedJob | undefined;
      try {
        job = await this.jobs.claim(leaseSeconds);
      } catch (error) {
        this.logger.warn(`Could not claim a PDF text job: ${(error as Error).message}`, 'PdfText');
        return;
      }
      if (!job) {
        if (!this.wokenWhileBusy) return;
        this.wokenWhileBusy = false;
        continue;
      }
      await this.process(job);
    }
  }

  private async process(job: ClaimedJob): Promise<void> {
    const { documentId } = job;
    try {
      if (job.attempts > MAX_ATTEMPTS) return await this.finish(job, null, `no answer in ${MAX_ATTEMPTS} attempts`);
      const { pdfTextTimeoutMs, pdfTextMemoryMb, pdfTextMaxPages, pdfTextMaxChars } = this.config.documents;
      // The file is read whole into memory: one larger than the worker's memory cap is not extracted.
      const data = await this.bytes.read(documentId, pdfTextMemoryMb * 1024 * 1024);
      if (!data) return; // deleted meanwhile: its job went with it
      if (data === 'too-large') {
        return await this.finish(job, null, `larger than PDF_TEXT_MEMORY_MB (${pdfTextMemoryMb} MiB)`);
      }
      const reply = await extractPdfText(
        data,
        {
          timeoutMs: pdfTextTimeoutMs,
          memoryMb: pdfTextMemoryMb,
          maxPages: pdfTextMaxPages,
          maxChars: pdfTextMaxChars,
        },
        this.stopping.signal,
      );
      await this.finish(job, reply.ok ? reply.text : null, reply.ok ? undefined : reply.reason);
    } catch (error) {
      if (error instanceof ExtractionStopped) {
        await this.jobs.release(documentId).catch(() => undefined);
        return;
      }
      // The database or the worker itself: the job comes due again when its lease ends.
      this.logger.warn(`PDF text of document ${documentId} will be retried: ${(error as Error).message}`, 'PdfText');
    }
  }

  private async finish(job: ClaimedJob, text: string | null, failure?: string): Promise<void> {
    const { documentId } = job;
    if (!(await this.jobs.finish(job, text))) return; // deleted, or a new version to extract instead
    if (failure) this.logger.warn(`PDF text of document ${documentId} failed: ${failure}`, 'PdfText');
    // Its owner's cached answers show textStatus, and so do those of the people it is shared with.
    const readers = await this.documents.readers(documentId);
    await Promise.all(readers.map((userId) => this.cache.bump(userId)));
  }
}
