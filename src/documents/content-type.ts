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

/** Types that say nothing about the content: the file name decides then. */
const GENERIC = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

export type Detection = { ok: true; type: AcceptedType; text: string | null } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** C0 controls other than tab, line feed, vertical tab, form feed and carriage return, and DEL. */
// eslint-disable-next-line no-control-regex
const BINARY_CONTROL = /[\x00-\x08\x0e-\x1f\x7f]/;

function decodeText(data: Uint8Array): string | null {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return null;
  }
  return BINARY_CONTROL.test(text) ? null : text;
}

export function isPdf(data: Uint8Array): boolean {
  return data.length >= 5 && Buffer.from(data.subarray(0, 5)).toString('latin1') === '%PDF-';
}

function normalizeType(declared: string | undefined): string {
  return (declared ?? '').split(';')[0].trim().toLowerCase();
}

function extensionOf(filename: string): string {
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
    return isPdf(data) ? { ok: true, type, text: null } : { ok: false, reason: 'the content is not a PDF' };
  }
  if (isPdf(data)) return { ok: false, reason: `the content is a PDF, not ${type}` };
  const decoded = decodeText(data);
  if (decoded === null) return { ok: false, reason: `the content is not ${type}: it is not UTF-8 text` };
  const text = decoded.startsWith('\ufeff') ? decoded.slice(1) : decoded;
  if (type === 'application/json') {
    try {
      JSON.parse(text);
    } catch {
      return { ok: false, reason: 'the content is not valid JSON' };
    }
  }
  return { ok: true, type, text };
}
