import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PdfTextJob, PdfTextReply } from './pdf-text.worker.js';

export interface PdfTextLimits {
  timeoutMs: number;
  memoryMb: number;
  maxPages: number;
  maxChars: number;
}

export type { PdfTextReply };

/**
 * The worker script beside this module: `dist/pdf-text.worker.js` next to the
 * bundle, `dist/src/pdf-text/pdf-text.worker.js` next to tsc's output. Under
 * ts-jest this module is `src/pdf-text/*.ts`, which Node cannot run in a worker:
 * the compiled script in dist is used (the tests build first).
 */
export function workerScript(moduleUrl = import.meta.url): URL {
  if (moduleUrl.endsWith('.ts')) return new URL('../../dist/src/pdf-text/pdf-text.worker.js', moduleUrl);
  return new URL('./pdf-text.worker.js', moduleUrl);
}

export class ExtractionStopped extends Error {
  constructor() {
    super('PDF text extraction stopped');
  }
}

/**
 * Extracts a PDF's text in a worker thread of its own, with a heap cap and a
 * time cap: a PDF that breaks either (or pdf.js) fails this extraction only.
 * Rejects with ExtractionStopped when `signal` aborts (shutdown), with another
 * error when no worker could run at all.
 */
export function extractPdfText(data: Buffer, limits: PdfTextLimits, signal: AbortSignal): Promise<PdfTextReply> {
  if (signal.aborted) return Promise.reject(new ExtractionStopped());
  // A missing script is this installation's fault, not the PDF's: the job is retried, not failed.
  const script = workerScript();
  if (!existsSync(fileURLToPath(script))) {
    return Promise.reject(new Error(`the worker script ${fileURLToPath(script)} is missing (see scripts/bundle.mjs)`));
  }
  // A copy of exactly the file, handed over (not copied again) to the worker.
  const bytes = new Uint8Array(data);
  const job: PdfTextJob = {
    data: bytes,
    maxPages: limits.maxPages,
    maxChars: limits.maxChars,
    maxInflatedBytes: limits.memoryMb * 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const worker = new Worker(script, {
      workerData: job,
      transferList: [bytes.buffer],
      resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const timer = setTimeout(
      () => settle(() => resolve({ ok: false, reason: `it took longer than ${limits.timeoutMs} ms` })),
      limits.timeoutMs,
    );
    const onAbort = () => settle(() => reject(new ExtractionStopped()));
    signal.addEventListener('abort', onAbort);
    worker.on('message', (reply: PdfTextReply) => settle(() => resolve(reply)));
    worker.on('error', (error: Error & { code?: string }) =>
      settle(() =>
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? resolve({ ok: false, reason: `it needed more than ${limits.memoryMb} MiB` })
          : resolve({ ok: false, reason: 'pdf.js failed on it' }),
      ),
    );
    worker.on('exit', () => settle(() => resolve({ ok: false, reason: 'the extraction stopped without an answer' })));
  });
}
