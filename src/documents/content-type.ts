import { isUtf8 } from 'node:buffer';

/**
 * What we store is decided by the bytes, not by what the client says: a
 * declared type is only a claim that the content must bear out.
 */
export const ACCEPTED_TYPES = [
  'text/plain',
  'text/markdown',
  'text/csv',
  'application/json',
  'application/pdf',
] as const;
export type AcceptedType = (typeof ACCEPTED_TYPES)[number];

const EXTENSIONS: Record<string, AcceptedType> = {
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  pdf: 'application/pdf',
};

export const EXTENSION_OF: Record<AcceptedType, string> = {
  'text/plain': 'txt',
  'text/markdown': 'md',
  'text/csv': 'csv',
  'application/json': 'json',
  'application/pdf': 'pdf',
};

/** Whether a name's extension already says this type (so a viewer opens it as one). */
export function extensionFits(filename: string, type: AcceptedType): boolean {
  return EXTENSIONS[extensionOf(filename)] === type;
}

/** Types that say nothing about the content: the file name decides then. */
const GENERIC = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

export type Detection = { ok: true; type: AcceptedType; text: boolean } | { ok: false; reason: string };

/**
 * Text: valid UTF-8 without C0 control characters other than tab, line feed,
 * vertical tab, form feed and carriage return, nor DEL. Checked on the bytes
 * (in UTF-8 a control character is only ever its own byte), so a large file
 * is never copied into a string here.
 */
function isText(data: Uint8Array): boolean {
  if (!isUtf8(data)) return false;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i];
    if (byte < 0x20 ? byte < 0x09 || byte > 0x0d : byte === 0x7f) return false;
  }
  return true;
}

export function isPdf(data: Uint8Array): boolean {
  return data.length >= 5 && Buffer.from(data.subarray(0, 5)).toString('latin1') === '%PDF-';
}

function normalizeType(declared: string | undefined): string {
  return (declared ?? '').split(';')[0].trim().toLowerCase();
}

/** The file name's extension, lower-cased, without the dot ('' when it has none). */
export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
}

/**
 * Decides the type from the declared type (or, when that is generic, the file
 * name's extension, or else the content), then checks the content bears it
 * out: PDF by its magic bytes, text types as valid UTF-8 without binary
 * control characters, JSON by parsing.
 */
export function detectContentType(data: Uint8Array, declared: string | undefined, filename: string): Detection {
  const claimed = normalizeType(declared);
  let type: AcceptedType | undefined;
  if (!GENERIC.has(claimed)) {
    if (!(ACCEPTED_TYPES as readonly string[]).includes(claimed)) {
      return { ok: false, reason: `${claimed} is not an accepted type (${ACCEPTED_TYPES.join(', ')})` };
    }
    type = claimed as AcceptedType;
  } else {
    type = EXTENSIONS[extensionOf(filename)] ?? (isPdf(data) ? 'application/pdf' : 'text/plain');
  }

  if (type === 'application/pdf') {
    return isPdf(data) ? { ok: true, type, text: false } : { ok: false, reason: 'the content is not a PDF' };
  }
  if (isPdf(data)) return { ok: false, reason: `the content is a PDF, not ${type}` };
  if (!isText(data)) return { ok: false, reason: `the content is not ${type}: it is not UTF-8 text` };
  if (type === 'application/json') {
    try {
      JSON.parse(new TextDecoder().decode(data));
    } catch {
      return { ok: false, reason: 'the content is not valid JSON' };
    }
  }
  return { ok: true, type, text: true };
}
