import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ReleaseSlot } from './download-slots.js';

const SLICE_BYTES = 64 * 1024;

/**
 * The file as a stream of 64 KiB slices, for Fastify to pipe with backpressure.
 * Each slice the response asks for is progress a timer can see (one 10 MiB
 * write shows none until all of it has left). When the client takes nothing
 * for `stallMs` (a client that never reads keeps its connection open for ever,
 * and with it the file in memory), the connection is destroyed. The download
 * slot is released when the response closes: finished, aborted or cut off.
 */
export function downloadStream(data: Buffer, res: ServerResponse, stallMs: number, release: ReleaseSlot): Readable {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => res.destroy(), stallMs);
    timer.unref();
  };
  const done = () => {
    clearTimeout(timer);
    release();
  };
  res.once('close', done);
  // The client may have gone while the bytes were read from the database.
  if (!res.socket || res.socket.destroyed) done();
  else arm();

  let offset = 0;
  return new Readable({
    highWaterMark: SLICE_BYTES,
    read() {
      // Armed until the response closes, so a client that stops before the last slices is cut off too.
      arm();
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      const end = Math.min(offset + SLICE_BYTES, data.length);
      this.push(data.subarray(offset, end));
      offset = end;
    },
  });
}
