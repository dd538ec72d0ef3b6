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

/** Signatures of what is most often uploaded by mistake, to name it in the refusal. */
const SIGNATURES: Array<[what: string, bytes: number[], offset?: number]> = [
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['a WebP image', [0x57, 0x45, 0x42, 0x50], 8],
  ['a ZIP archive (or an Office document)', [0x50, 0x4b, 0x03, 0x04]],
  ['a gzip archive', [0x1f, 0x8b]],
  ['an ELF executable', [0x7f, 0x45, 0x4c, 0x46]],
  ['a Windows executable', [0x4d, 0x5a]],
];

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

/** What the bytes look like, in words: "a PNG image", "a PDF", "text", "binary data". */
function describe(data: Uint8Array): string {
  if (isPdf(data)) return 'a PDF';
  // Before the signatures: text may well begin with "MZ" or "GIF8".
  if (isText(data)) return 'text';
  for (const [what, bytes, offset = 0] of SIGNATURES) {
    if (data.length >= offset + bytes.length && bytes.every((byte, i) => data[offset + i] === byte)) return what;
  }
  return isUtf8(data) ? 'binary data (control characters)' : 'binary data (not UTF-8 text)';
}

function normalizeType(declared: string | undefined): string {
  return (declared ?? '').split(';')[0].trim().toLowerCase();
}

/** The file name's extension, lower-cased, without the dot ('' when it has none). */
export function extensionOf(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot > 0 ? filename.slice(dot + 1).toLowerCase() : '';
}

const ACCEPTED = `accepted types are ${ACCEPTED_TYPES.join(', ')}`;

/**
 * Decides the type from the declared type (or, when that is generic, the file
 * name's extension, or else the content), then checks the content bears it
 * out: PDF by its magic bytes, text types as valid UTF-8 without binary
 * control characters, JSON by parsing. A refusal names what the bytes look
 * like and where the expected type came from (the client's declaration, the
 * file name, or nothing).
 */
export function detectContentType(data: Uint8Array, declared: string | undefined, filename: string): Detection {
  const claimed = normalizeType(declared);
  let type: AcceptedType | undefined;
  let expected: string;
  if (!GENERIC.has(claimed)) {
    if (!(ACCEPTED_TYPES as readonly string[]).includes(claimed)) {
      return { ok: false, reason: `${claimed} is not an accepted type (${ACCEPTED_TYPES.join(', ')})` };
    }
    type = claimed as AcceptedType;
    expected = `, not ${type} as declared`;
  } else {
    const extension = extensionOf(filename);
    type = EXTENSIONS[extension];
    expected = type ? `, not the ${type} its name (.${extension}) says` : '';
    type ??= isPdf(data) ? 'application/pdf' : 'text/plain';
  }
  const refuse = (): Detection => ({
    ok: false,
    reason: `the content looks like ${describe(data)}${expected}; ${ACCEPTED}`,
  });

  if (type === 'application/pdf') return isPdf(data) ? { ok: true, type, text: false } : refuse();
  if (isPdf(data) || !isText(data)) return refuse();
  if (type === 'application/json') {
    try {
      JSON.parse(new TextDecoder().decode(data));
    } catch {
      return { ok: false, reason: 'the content is not valid JSON' };
    }
  }
  return { ok: true, type, text: true };
}
