import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { type ByteRange, isStorageKey, type ObjectStore } from './object-store.js';

/** Size of one chunk row: what one transfer holds in memory at a time. */
export const CHUNK_BYTES = 256 * 1024;
const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Objects as rows of 256 KiB chunks in `storage_chunks`. Each chunk is its own
 * statement, so a transfer borrows a pool connection for one chunk at a time
 * and never for its whole duration. The chunks of an object are deleted with
 * its version row (a trigger), or by `delete` when no row ever took them.
 */
export class PostgresStore implements ObjectStore {
  readonly name = 'postgres' as const;

  private readonly gate: Gate;

  /**
   * `concurrency`: chunk statements in flight at once, all transfers together.
   * Past it they wait here, in order, rather than for a pool connection (which
   * fails after the pool's timeout): bulk transfers leave the rest of the pool
   * to the other requests.
   */
  constructor(
    private readonly dataSource: DataSource,
    concurrency = 4,
  ) {
    this.gate = new Gate(concurrency);
  }

  async write(key: string, source: Readable): Promise<number> {
    // Until a whole chunk has arrived the pieces are only kept, so content smaller than a
    // chunk (most documents) is written as it came, with no chunk-sized buffer behind it.
    // From the first whole chunk on, two buffers: one chunk's INSERT is in flight while the
    // next one fills (pg has sent a buffer once its INSERT has answered, so it is then reused).
    let pending: Buffer[] | undefined = [];
    let buffers: [Buffer, Buffer] | undefined;
    let chunk: Buffer = EMPTY;
    let filled = 0;
    let seq = 0;
    let size = 0;
    let inFlight: Promise<unknown> = Promise.resolve();
    const insert = (data: Buffer) => {
      const n = seq;
      inFlight = this.gate.run(() =>
        this.dataSource.query('INSERT INTO storage_chunks (object_key, seq, data) VALUES ($1, $2, $3)', [key, n, data]),
      );
      inFlight.catch(() => undefined); // awaited by the next flush or at the end
      seq += 1;
    };
    const flush = async () => {
      await inFlight;
      insert(chunk.subarray(0, filled));
      filled = 0;
      chunk = chunk === buffers![0] ? buffers![1] : buffers![0];
    };
    /** The pieces kept so far, copied into the first chunk buffer. */
    const startChunks = () => {
      buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
      chunk = buffers[0];
      for (const kept of pending!) {
        kept.copy(chunk, filled);
        filled += kept.length;
      }
      pending = undefined;
    };
    try {
      for await (const piece of source as AsyncIterable<Buffer>) {
        if (pending) {
          if (size + piece.length < CHUNK_BYTES) {
            pending.push(piece);
            size += piece.length;
            continue;
          }
          startChunks();
        }
        let offset = 0;
        while (offset < piece.length) {
          const take = Math.min(CHUNK_BYTES - filled, piece.length - offset);
          piece.copy(chunk, filled, offset, offset + take);
          filled += take;
          offset += take;
          if (filled === CHUNK_BYTES) await flush();
        }
        size += piece.length;
      }
      if (pending) {
        if (size > 0) insert(pending.length === 1 ? pending[0] : Buffer.concat(pending, size));
      } else if (filled > 0) await flush();
      await inFlight;
      return size;
    } catch (error) {
      source.destroy();
      await inFlight.catch(() => undefined);
      await this.delete(key).catch(() => undefined);
      throw error;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const first = range ? Math.floor(range.start / CHUNK_BYTES) : 0;
    const last = range ? Math.floor(range.end / CHUNK_BYTES) : Number.POSITIVE_INFINITY;
    const readChunk = (seq: number) => this.gate.run(() => this.readChunk(key, seq));
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = first; seq <= last; seq += 1) {
        let data = await readChunk(seq);
        if (!data) return;
        if (range) {
          const base = seq * CHUNK_BYTES;
          data = data.subarray(Math.max(0, range.start - base), Math.min(data.length, range.end - base + 1));
        }
        if (data.length > 0) yield data;
      }
    }
    // The next chunk is read while the response sends this one; no more are read ahead.
    return Readable.from(chunks(), { objectMode: false, highWaterMark: CHUNK_BYTES });
  }

  async copy(from: string, to: string): Promise<void> {
    await this.dataSource.query(
      'INSERT INTO storage_chunks (object_key, seq, data) SELECT $2, seq, data FROM storage_chunks WHERE object_key = $1',
      [from, to],
    );
  }

  /**
   * One chunk, read with `COPY ... (FORMAT binary)` on a connection borrowed for
   * that statement alone: a plain SELECT makes pg receive a bytea as hex text (a
   * string twice the chunk's size, then decoded), which at download speed is
   * garbage enough to grow the heap by tens of MiB; COPY data arrives as raw
   * bytes. Works the same on PGlite.
   */
  private async readChunk(key: string, seq: number): Promise<Buffer | null> {
    // COPY takes no parameters: both values are checked here, so they are safe as literals.
    if (!isStorageKey(key) || !Number.isSafeInteger(seq)) return null;
    const runner = this.dataSource.createQueryRunner();
    try {
      const client = (await runner.connect()) as { query(submittable: CopyOut): void };
      const copy = new CopyOut(
        `COPY (SELECT data FROM storage_chunks WHERE object_key = '${key}' AND seq = ${seq}) TO STDOUT (FORMAT binary)`,
      );
      client.query(copy);
      return parseSingleBytea(await copy.result);
    } finally {
      await runner.release();
    }
  }

  async delete(key: string): Promise<void> {
    await this.dataSource.query('DELETE FROM storage_chunks WHERE object_key = $1', [key]);
  }

  async *listCreatedBefore(before: Date): AsyncIterable<string[]> {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows: Array<{ key: string }> = await this.dataSource.query(
        `SELECT object_key AS key FROM storage_chunks WHERE seq = 0 AND created_at < $1 AND object_key > $2
          ORDER BY object_key LIMIT 500`,
        [before, after],
      );
      if (rows.length === 0) return;
      yield rows.map((row) => row.key).filter(isStorageKey);
      after = rows[rows.length - 1].key;
    }
  }
}

/** At most `free` tasks at once; the others wait their turn. */
class Gate {
  private readonly waiting: Array<() => void> = [];

  constructor(private free: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    }
  }
}

/**
 * A COPY TO STDOUT run on a pg client (a "submittable": pg hands it the
 * connection and the protocol messages), collecting the raw CopyData chunks.
 */
class CopyOut {
  readonly result: Promise<Buffer[]>;
  private readonly chunks: Buffer[] = [];
  private settle!: { resolve: (chunks: Buffer[]) => void; reject: (error: unknown) => void };

  constructor(private readonly text: string) {
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    this.chunks.push(message.chunk);
  }

  handleReadyForQuery(): void {
    this.settle.resolve(this.chunks);
  }

  /** pg calls this instead of handleReadyForQuery on an error (also a lost connection). */
  handleError(error: unknown): void {
    this.settle.reject(error);
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
}

/** PostgreSQL's binary COPY header: signature, flags, header-extension length. */
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The one bytea field of a binary COPY of at most one row, or null for none.
 * The chunks are joined into a buffer of their exact size first, so what stays
 * alive is the chunk, not pg's larger receive buffer the pieces are slices of.
 */
function parseSingleBytea(chunks: Buffer[]): Buffer | null {
  const all = Buffer.concat(chunks);
  if (all.length < 21 || !all.subarray(0, 11).equals(COPY_SIGNATURE)) throw new Error('unexpected COPY output');
  const start = 19 + all.readUInt32BE(15);
  const fields = all.readInt16BE(start);
  if (fields === -1) return null; // the trailer: no row
  const length = all.readInt32BE(start + 2);
  if (fields !== 1 || length < 0) throw new Error('unexpected COPY output');
  return all.subarray(start + 6, start + 6 + length);
}
