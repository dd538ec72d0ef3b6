import { integer, variable, type VariableTable } from '../config/variables.js';

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
  /** Heap of the extraction worker (its V8 old generation), and the most one stream may inflate to, in MiB. */
  pdfTextMemoryMb: number;
  /** A PDF with more pages than this is not extracted (its text fails). */
  pdfTextMaxPages: number;
  /** Extracted text is cut at this many characters. */
  pdfTextMaxChars: number;
}

/** The documents module's variables, in README's order. */
export const DOCUMENT_VARIABLES: VariableTable<DocumentsConfig> = {
  trashRetentionDays: variable('TRASH_RETENTION_DAYS', integer(30, 0, 3650), {
    default: '`30`',
    meaning:
      'days a deleted document stays in the trash before the hourly purge (one instance at a time) deletes it for good, `0`–`3650`',
  }),
  pdfTextWorkers: variable('PDF_TEXT_WORKERS', integer(1, 0, 16), {
    default: '`1`',
    meaning:
      'PDF text extractions one instance runs at once (each in a worker thread), `0`–`16`; `0`: this instance extracts none',
  }),
  pdfTextPollIntervalMs: variable('PDF_TEXT_POLL_INTERVAL_MS', integer(5000, 10, 600_000), {
    default: '`5000`',
    meaning: 'how often each instance looks for PDF text jobs, `10`–`600000` (a PDF upload wakes it at once)',
  }),
  pdfTextTimeoutMs: variable('PDF_TEXT_TIMEOUT_MS', integer(30_000, 1, 600_000), {
    default: '`30000`',
    meaning: "one extraction's time cap, `1`–`600000`: past it the worker is stopped and the text fails",
  }),
  pdfTextMemoryMb: variable('PDF_TEXT_MEMORY_MB', integer(128, 16, 4096), {
    default: '`128`',
    meaning:
      "the extraction worker's heap, the most any one stream of the PDF may inflate to, and the largest PDF extracted at all (a larger one's text fails), in MiB, `16`–`4096`",
  }),
  pdfTextMaxPages: variable('PDF_TEXT_MAX_PAGES', integer(2000, 1, 100_000), {
    default: '`2000`',
    meaning: 'a PDF with more pages is not extracted (its text fails), `1`–`100000`',
  }),
  pdfTextMaxChars: variable('PDF_TEXT_MAX_CHARS', integer(1_000_000, 1000, 100_000_000), {
    default: '`1000000`',
    meaning: 'extracted text is cut at this many characters, `1000`–`100000000`',
  }),
};
