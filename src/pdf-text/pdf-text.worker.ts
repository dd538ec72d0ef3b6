// Runs in a worker thread (see pdf-extractor.ts), one PDF per worker: whatever
// the file does to pdf.js (loops, memory, exceptions) stays inside this thread,
// which the main thread terminates at its time cap and V8 stops at its heap cap.
import { parentPort, workerData } from 'node:worker_threads';
import { getDocumentProxy } from 'unpdf';

export interface PdfTextJob {
  data: Uint8Array;
  maxPages: number;
  maxChars: number;
}

export type PdfTextReply = { ok: true; text: string } | { ok: false; reason: string };

/** pdf.js's exception names, said in words for the log. */
const REASONS: Record<string, string> = {
  PasswordException: 'it is encrypted',
  InvalidPDFException: 'it is not a valid PDF',
  FormatError: 'it is malformed',
};

async function extract({ data, maxPages, maxChars }: PdfTextJob): Promise<PdfTextReply> {
  // Text only: no fonts loaded, and pdf.js logs errors only.
  const pdf = await getDocumentProxy(data, {
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  });
  // The worker ends with this one PDF: nothing to clean up.
  if (pdf.numPages > maxPages) return { ok: false, reason: `it has ${pdf.numPages} pages (limit ${maxPages})` };
  const parts: string[] = [];
  let length = 0;
  for (let number = 1; number <= pdf.numPages && length < maxChars; number++) {
    const page = await pdf.getPage(number);
    const content = await page.getTextContent();
    for (const item of content.items) {
      if (!('str' in item)) continue;
      const piece = item.hasEOL ? `${item.str}\n` : item.str;
      parts.push(piece);
      length += piece.length;
    }
    parts.push('\n');
    length += 1;
    page.cleanup();
  }
  // PostgreSQL text cannot hold NUL.
  return {
    ok: true,
    text: parts
      .join('')
      .replace(/\u0000/g, '')
      .slice(0, maxChars),
  };
}

extract(workerData as PdfTextJob).then(
  (reply) => parentPort!.postMessage(reply),
  (error: unknown) => {
    const name = error instanceof Error ? error.name : '';
    parentPort!.postMessage({ ok: false, reason: REASONS[name] ?? 'pdf.js could not read it' } satisfies PdfTextReply);
  },
);
