import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../common/problem.js';
import { type AcceptedType, ContentCheck } from './content-type.js';
import { PayloadTooLargeError } from '../common/errors.js';

/** What an upload turned out to be, once all of it has passed. */
export interface CheckedContent {
  type: AcceptedType;
  /** A text type: its first bytes are indexed for search. */
  text: boolean;
  indexText: string | undefined;
  size: number;
  sha256: string;
}

export function unsupportedMediaType(reason: string): AppError {
  // Connection: close, as the refusal may come before the whole body was read.
  return new AppError(415, 'unsupported-media-type', `Not accepted: ${reason}.`, undefined, { connection: 'close' });
}

/**
 * Passes an upload through on its way to storage while measuring it: the
 * sha256, the size (refused the moment it passes `maxBytes`) and the content
 * check (refused the moment the bytes show the type is wrong). A refusal
 * fails the stream, so the storage driver drops what it had written.
 */
export class UploadCheck extends Transform {
  private readonly hash = createHash('sha256');
  private readonly content: ContentCheck;
  private size = 0;
  private result: CheckedContent | undefined;

  constructor(
    declaredType: string | undefined,
    filename: string,
    private readonly maxBytes: number,
  ) {
    super();
    this.content = new ContentCheck(declaredType, filename);
  }

  override _transform(piece: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += piece.length;
    if (this.size > this.maxBytes) {
      done(new PayloadTooLargeError(`The file is larger than the ${this.maxBytes}-byte limit.`));
      return;
    }
    const refusal = this.content.push(piece);
    if (refusal) {
      done(unsupportedMediaType(refusal));
      return;
    }
    this.hash.update(piece);
    done(null, piece);
  }

  override _flush(done: TransformCallback): void {
    const verdict = this.content.end();
    if (!verdict.ok) {
      done(unsupportedMediaType(verdict.reason));
      return;
    }
    this.result = {
      type: verdict.type,
      text: verdict.text,
      indexText: verdict.indexText,
      size: this.size,
      sha256: this.hash.digest('hex'),
    };
    done();
  }

  /** Available once the stream has ended without error. */
  get checked(): CheckedContent {
    if (!this.result) throw new Error('upload not checked yet');
    return this.result;
  }
}
