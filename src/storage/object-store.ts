import type { Readable } from 'node:stream';
import { AppError } from '../common/problem.js';
import type { StorageDriverName } from './storage-config.js';

/** Inclusive byte positions, as in an HTTP Range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * One place document bytes are kept. Objects are immutable: written once
 * under a fresh key, read any number of times, deleted once. Memory per call
 * stays at about one chunk, whatever the object's size.
 */
export interface ObjectStore {
  readonly name: StorageDriverName;
  /**
   * Writes `source` as object `key`, chunk by chunk. When the source fails
   * (an aborted upload, a refused content check) or the store does, nothing of
   * the object is left and the source's error is what rejects.
   */
  write(key: string, source: Readable): Promise<number>;
  /** The object's bytes (a range of them), streamed. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Copies object `from` to a new object `to` (inside the store). */
  copy(from: string, to: string): Promise<void>;
  /** Deletes the object; deleting one that is not there is not an error. */
  delete(key: string): Promise<void>;
  /** Keys of objects created before `before` (for the orphan sweep), in batches. */
  listCreatedBefore(before: Date): AsyncIterable<string[]>;
}

/** The storage service cannot be reached or failed: the caller may retry. */
export class StorageUnavailableError extends AppError {
  constructor(detail = 'Document storage is unavailable; retry in a moment.') {
    super(503, 'storage-unavailable', detail, undefined, { 'retry-after': '5' });
  }
}

/** Storage keys are UUIDs (what is not one in a bucket is none of ours). */
export function isStorageKey(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
