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

/** Bytes looked at before the type is decided: every signature above is within them. */
const HEAD_BYTES = 4096;
/** JSON is parsed whole to be checked: files up to this size are (held in memory while they arrive). */
export const JSON_CHECK_MAX_BYTES = 16 * 1024 * 1024;
/** Text kept for the search index: the first 1 MiB (the index reads its first 256 Ki characters). */
export const INDEXED_TEXT_BYTES = 1024 * 1024;

export type ContentVerdict =
  { ok: true; type: AcceptedType; text: boolean; indexText?: string } | { ok: false; reason: string };

/** Length of `data` without a UTF-8 sequence cut off at its end. */
function completeUtf8Length(data: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data[data.length - back];
    if (byte < 0x80) return data.length;
    if (byte >= 0xc0) {
      const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return needed > back ? data.length - back : data.length;
    }
  }
  return data.length;
}

function hasControlCharacters(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) {
    const byte = data[i];
    if (byte < 0x20 ? byte < 0x09 || byte > 0x0d : byte === 0x7f) return true;
  }
  return false;
}

/**
 * The content check run on a stream: `push` each piece as it arrives (a
 * refusal comes as soon as the bytes show one), then `end`. The first bytes
 * decide the type (the declared type, or when that is generic the file
 * name's extension, or else the content); the rest must bear it out: PDF by
 * its magic bytes, text types as valid UTF-8 without binary control
 * characters (checked piece by piece, across piece boundaries), JSON by
 * parsing. A refusal names what the bytes look like and where the expected
 * type came from (the client's declaration, the file name, or nothing).
 */
export class ContentCheck {
  private head: Buffer[] = [];
  private headLength = 0;
  private decided: { type: AcceptedType; text: boolean } | undefined;
  private expected = '';
  private refusal: string | undefined;
  private carry: Buffer = Buffer.alloc(0);
  private json: Buffer[] | undefined;
  private jsonLength = 0;
  private indexed: Buffer[] = [];
  private indexedLength = 0;

  constructor(
    private readonly declared: string | undefined,
    private readonly filename: string,
    private readonly jsonMaxBytes = JSON_CHECK_MAX_BYTES,
  ) {}

  /** Takes the next piece; returns the refusal once the content cannot be accepted. */
  push(piece: Uint8Array): string | undefined {
    if (this.refusal) return this.refusal;
    if (!this.decided) {
      this.head.push(Buffer.from(piece));
      this.headLength += piece.length;
      if (this.headLength < HEAD_BYTES) return undefined;
      return this.decide();
    }
    return this.check(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
  }

  end(): ContentVerdict {
    if (!this.refusal && !this.decided) this.decide();
    if (this.refusal) return { ok: false, reason: this.refusal };
    const { type, text } = this.decided!;
    if (!text) return { ok: true, type, text };
    if (this.carry.length > 0) return { ok: false, reason: this.textRefusal(this.carry) };
    if (this.json) {
      try {
        JSON.parse(new TextDecoder().decode(Buffer.concat(this.json, this.jsonLength)));
      } catch {
        return { ok: false, reason: 'the content is not valid JSON' };
      }
    }
    const kept = Buffer.concat(this.indexed, this.indexedLength);
    const indexText = new TextDecoder().decode(kept.subarray(0, completeUtf8Length(kept))).replace(/^\uFEFF/, '');
    return { ok: true, type, text, indexText };
  }

  private decide(): string | undefined {
    const data = Buffer.concat(this.head, this.headLength);
    this.head = [];
    const claimed = normalizeType(this.declared);
    let type: AcceptedType | undefined;
    if (!GENERIC.has(claimed)) {
      if (!(ACCEPTED_TYPES as readonly string[]).includes(claimed)) {
        return (this.refusal = `${claimed} is not an accepted type (${ACCEPTED_TYPES.join(', ')})`);
      }
      type = claimed as AcceptedType;
      this.expected = `, not ${type} as declared`;
    } else {
      const extension = extensionOf(this.filename);
      type = EXTENSIONS[extension];
      this.expected = type ? `, not the ${type} its name (.${extension}) says` : '';
      type ??= isPdf(data) ? 'application/pdf' : 'text/plain';
    }
    const sample = data.subarray(0, completeUtf8Length(data));
    const refuse = () => (this.refusal = `the content looks like ${describe(sample)}${this.expected}; ${ACCEPTED}`);
    if (type === 'application/pdf') {
      if (!isPdf(data)) return refuse();
      this.decided = { type, text: false };
      return undefined;
    }
    if (isPdf(data)) return refuse();
    this.decided = { type, text: true };
    if (type === 'application/json') this.json = [];
    return this.check(data);
  }

  private check(piece: Buffer): string | undefined {
    if (!this.decided!.text) return undefined;
    const joined = this.carry.length > 0 ? Buffer.concat([this.carry, piece]) : piece;
    const complete = completeUtf8Length(joined);
    if (hasControlCharacters(piece) || !isUtf8(joined.subarray(0, complete))) {
      return (this.refusal = this.textRefusal(joined));
    }
    this.carry = Buffer.from(joined.subarray(complete));
    if (this.indexedLength < INDEXED_TEXT_BYTES) {
      const keep = piece.subarray(0, INDEXED_TEXT_BYTES - this.indexedLength);
      this.indexed.push(Buffer.from(keep));
      this.indexedLength += keep.length;
    }
    if (this.json) {
      this.jsonLength += piece.length;
      if (this.jsonLength > this.jsonMaxBytes) {
        return (this.refusal = `JSON documents are checked whole and may be at most ${this.jsonMaxBytes} bytes; send larger ones as text/plain`);
      }
      this.json.push(Buffer.from(piece));
    }
    return undefined;
  }

  private textRefusal(data: Uint8Array): string {
    return `the content looks like ${describe(data)}${this.expected}; ${ACCEPTED}`;
  }
}

/** The whole check on bytes already in memory (see ContentCheck). */
export function detectContentType(data: Uint8Array, declared: string | undefined, filename: string): Detection {
  const check = new ContentCheck(declared, filename, Number.POSITIVE_INFINITY);
  const refusal = check.push(data);
  if (refusal) return { ok: false, reason: refusal };
  const verdict = check.end();
  return verdict.ok ? { ok: true, type: verdict.type, text: verdict.text } : verdict;
}
