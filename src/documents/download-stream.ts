import type { ServerResponse } from 'node:http';
import { PassThrough, type Readable, pipeline } from 'node:stream';
import type { ReleaseSlot } from './download-slots.js';

/**
 * The bytes from storage, for Fastify to pipe with backpressure. Each piece
 * the response takes is progress a timer can see: when the client takes
 * nothing for `stallMs` (a client that never reads would keep its connection,
 * its storage read and its slot for ever), the connection is destroyed. The
 * storage read is ended and the download slot released when the response
 * closes: finished, aborted or cut off.
 */
export function downloadStream(source: Readable, res: ServerResponse, stallMs: number, release: ReleaseSlot): Readable {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // Stalled means the client is not taking what was written (the response waits for 'drain');
  // a storage read that is merely slow is not the client's stall.
  const check = () => (res.writableNeedDrain ? res.destroy() : arm());
  const arm = () => {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(check, stallMs);
    timer.unref();
  };
  const out = new PassThrough({
    highWaterMark: 64 * 1024,
    transform(piece, _encoding, done) {
      arm();
      done(null, piece);
    },
  });
  const done = () => {
    closed = true;
    clearTimeout(timer);
    source.destroy();
    release();
  };
  res.once('close', done);
  // The client may have gone while the storage read was being opened.
  if (!res.socket || res.socket.destroyed) done();
  else arm();
  pipeline(source, out, () => undefined);
  return out;
}
