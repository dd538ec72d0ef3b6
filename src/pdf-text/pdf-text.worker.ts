// Runs in a worker thread (see pdf-extractor.ts), one PDF per worker: whatever
// the file does to pdf.js (loops, memory, exceptions) stays inside this thread,
// which the main thread terminates at its time cap and V8 stops at its heap cap.
import { parentPort, workerData } from 'node:worker_threads';
import { createInflate } from 'node:zlib';
import { getDocumentProxy } from 'unpdf';

export interface PdfTextJob {
  data: Uint8Array;
  maxPages: number;
  maxChars: number;
  /** No stream pdf.js would decode for text may inflate to more bytes than this. */
  maxInflatedBytes: number;
}

export type PdfTextReply = { ok: true; text: string } | { ok: false; reason: string };

/** pdf.js's exception names, said in words for the log. */
const REASONS: Record<string, string> = {
  PasswordException: 'it is encrypted',
  InvalidPDFException: 'it is not a valid PDF',
  FormatError: 'it is malformed',
};

async function extract({ data, maxPages, maxChars, maxInflatedBytes }: PdfTextJob): Promise<PdfTextReply> {
  if (await hasFlateBomb(data, maxInflatedBytes)) {
    return { ok: false, reason: `a stream inflates to more than ${maxInflatedBytes} bytes` };
  }
  // Text only: no fonts loaded, and pdf.js logs errors only.
  const pdf = await getDocumentProxy(data, {
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  });
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
    text: parts.join('').replaceAll('\0', '').slice(0, maxChars),
  };
}

/**
 * pdf.js inflates a stream whole into an ArrayBuffer, which lives outside the
 * V8 heap and so outside the worker's heap cap: a small Flate "bomb" would
 * take the process's memory. So every Flate stream that text extraction may
 * decode (not images) is inflated here first, chunk by chunk, counting.
 * Streams this cannot read (other filters first, encryption) are left to
 * pdf.js and the time cap.
 */
async function hasFlateBomb(data: Uint8Array, limit: number): Promise<boolean> {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const keyword = /(?<!end)stream\r?\n/g;
  for (let match = keyword.exec(text); match; match = keyword.exec(text)) {
    const start = match.index + match[0].length;
    const dictionary = text.slice(text.lastIndexOf(' obj', match.index), match.index);
    if (/\/Subtype\s*\/Image\b/.test(dictionary) || !/\/(FlateDecode|Fl)\b/.test(dictionary)) continue;
    const end = text.indexOf('endstream', start);
    if (await inflatesBeyond(data.subarray(start, end === -1 ? data.length : end), limit)) return true;
  }
  return false;
}

function inflatesBeyond(stream: Uint8Array, limit: number): Promise<boolean> {
  return new Promise((resolve) => {
    const inflate = createInflate({ chunkSize: 64 * 1024 });
    let total = 0;
    let settled = false;
    const settle = (beyond: boolean) => {
      if (settled) return;
      settled = true;
      inflate.destroy();
      resolve(beyond);
    };
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) settle(true);
    });
    inflate.on('end', () => settle(false));
    // Not zlib data, or cut short: pdf.js judges it.
    inflate.on('error', () => settle(false));
    inflate.end(stream);
  });
}

extract(workerData as PdfTextJob).then(
  (reply) => parentPort!.postMessage(reply),
  (error: unknown) => {
    const name = error instanceof Error ? error.name : '';
    parentPort!.postMessage({ ok: false, reason: REASONS[name] ?? 'pdf.js could not read it' } satisfies PdfTextReply);
  },
);
