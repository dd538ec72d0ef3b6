import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { type ByteRange, isStorageKey, type ObjectStore } from './object-store.js';

/** Size of one chunk row: what one transfer holds in memory at a time. */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Objects as rows of 256 KiB chunks in `storage_chunks`. Each chunk is its own
 * statement, so a transfer borrows a pool connection for one chunk at a time
 * and never for its whole duration. The chunks of an object are deleted with
 * its version row (a trigger), or by `delete` when no row ever took them.
 */
export class PostgresStore implements ObjectStore {
  readonly name = 'postgres' as const;

  constructor(private readonly dataSource: DataSource) {}

  async write(key: string, source: Readable): Promise<number> {
    let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let filled = 0;
    let seq = 0;
    let size = 0;
    const flush = async () => {
      await this.dataSource.query('INSERT INTO storage_chunks (object_key, seq, data) VALUES ($1, $2, $3)', [
        key,
        seq,
        chunk.subarray(0, filled),
      ]);
      seq += 1;
      filled = 0;
      // pg may still hold the previous buffer while sending it: a fresh one each time.
      chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    };
    try {
      for await (const piece of source as AsyncIterable<Buffer>) {
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
      if (filled > 0) await flush();
      return size;
    } catch (error) {
      source.destroy();
      await this.delete(key).catch(() => undefined);
      throw error;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const first = range ? Math.floor(range.start / CHUNK_BYTES) : 0;
    const last = range ? Math.floor(range.end / CHUNK_BYTES) : Number.POSITIVE_INFINITY;
    const dataSource = this.dataSource;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = first; seq <= last; seq += 1) {
        const rows: Array<{ data: Uint8Array }> = await dataSource.query(
          'SELECT data FROM storage_chunks WHERE object_key = $1 AND seq = $2',
          [key, seq],
        );
        if (rows.length === 0) return;
        let data = Buffer.from(rows[0].data.buffer, rows[0].data.byteOffset, rows[0].data.byteLength);
        if (range) {
          const base = seq * CHUNK_BYTES;
          data = data.subarray(Math.max(0, range.start - base), Math.min(data.length, range.end - base + 1));
        }
        if (data.length > 0) yield data;
      }
    }
    // One chunk at a time: the next is read when the response has taken this one.
    return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
  }

  async copy(from: string, to: string): Promise<void> {
    await this.dataSource.query(
      'INSERT INTO storage_chunks (object_key, seq, data) SELECT $2, seq, data FROM storage_chunks WHERE object_key = $1',
      [from, to],
    );
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
