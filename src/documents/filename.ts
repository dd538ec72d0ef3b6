import { type AcceptedType, EXTENSION_OF, extensionFits } from './content-type.js';

const MAX_FILENAME_BYTES = 255;

/**
 * A file name as the client gave it, made safe to store and to send back:
 * no directory parts, no control, bidirectional or zero-width characters
 * (which can disguise the real extension), NFC, at most 255 UTF-8 bytes (the
 * extension kept when shortened), never empty, and ending in an extension of
 * the type the content was accepted as: `x.html` stored as text becomes
 * `x.html.txt`, so a user who saves and opens it gets a text viewer.
 */
export function sanitizeFilename(raw: string | undefined, type: AcceptedType): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\.+/, '');
  const extension = EXTENSION_OF[type];
  const name =
    cleaned === '' ? `document.${extension}` : extensionFits(cleaned, type) ? cleaned : `${cleaned}.${extension}`;
  return truncateUtf8(name, MAX_FILENAME_BYTES);
}

function truncateUtf8(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const budget = maxBytes - Buffer.byteLength(extension);
  // Whole code points, in one pass: dropping them one at a time from the end was quadratic
  // (seconds of a blocked event loop for a name of a few thousand characters).
  let stem = '';
  let bytes = 0;
  for (const character of extension ? name.slice(0, dot) : name) {
    bytes += Buffer.byteLength(character);
    if (bytes > budget) break;
    stem += character;
  }
  return stem + extension;
}

/**
 * `Content-Disposition: attachment` per RFC 6266, with an ASCII fallback
 * `filename` and the exact name in RFC 5987 `filename*`.
 */
export function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
