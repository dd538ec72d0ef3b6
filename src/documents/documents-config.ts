/** Trash and PDF text extraction, read with the rest of the configuration. */
export interface DocumentsConfig {
  /** Days a document stays in the trash before the purge deletes it for good. */
  trashRetentionDays: number;
  /** Extractions one instance runs at once; 0: this instance extracts none (another one does). */
  pdfTextWorkers: number;
  /** How often each instance looks for PDF text jobs (a new upload also wakes it at once). */
  pdfTextPollIntervalMs: number;
  /** One extraction's wall-clock cap: past it the worker is terminated and the document's text fails. */
  pdfTextTimeoutMs: number;
  /** Heap of the extraction worker (its V8 old generation), in MiB. */
  pdfTextMemoryMb: number;
  /** A PDF with more pages than this is not extracted (its text fails). */
  pdfTextMaxPages: number;
  /** Extracted text is cut at this many characters. */
  pdfTextMaxChars: number;
}

interface Readers {
  integer(name: string, fallback: number, min: number, max: number): number;
}

export function readDocumentsConfig({ integer }: Readers): DocumentsConfig {
  return {
    trashRetentionDays: integer('TRASH_RETENTION_DAYS', 30, 0, 3650),
    pdfTextWorkers: integer('PDF_TEXT_WORKERS', 1, 0, 16),
    pdfTextPollIntervalMs: integer('PDF_TEXT_POLL_INTERVAL_MS', 5000, 10, 600_000),
    pdfTextTimeoutMs: integer('PDF_TEXT_TIMEOUT_MS', 30_000, 1, 600_000),
    pdfTextMemoryMb: integer('PDF_TEXT_MEMORY_MB', 128, 16, 4096),
    pdfTextMaxPages: integer('PDF_TEXT_MAX_PAGES', 2000, 1, 100_000),
    pdfTextMaxChars: integer('PDF_TEXT_MAX_CHARS', 1_000_000, 1000, 100_000_000),
  };
}
