import type { IncomingMessage, ServerResponse } from 'node:http';
import { frameworkProblem } from './input-guard.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

/**
 * Closes the connection of a request whose body makes no progress for
 * `idleMs`: a client sending one byte every few seconds would otherwise hold
 * its connection (and what is buffered of its body) for as long as it likes.
 * The bound is on silence, not on the whole body, so a long upload that keeps
 * sending is never cut off. Once the body has arrived the connection's own
 * timeout applies again (a slow handler or a slow download is not this).
 */
export function limitBodyIdleTime(request: IncomingMessage, response: ServerResponse, idleMs: number): void {
  const length = request.headers['content-length'];
  if (request.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return;
  const socket = request.socket;
  const previous = socket.timeout ?? 0;
  // Node emits 'timeout' on the request only while its body is incomplete.
  request.setTimeout(idleMs, () => {
    if (response.headersSent) {
      socket.destroy();
      return;
    }
    const body = frameworkProblem(
      408,
      `No part of the request body arrived for ${idleMs} ms.`,
      (request.url ?? '').split('?')[0],
      '',
    );
    response.writeHead(408, {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    response.end(body, () => socket.destroy());
  });
  request.once('end', () => socket.setTimeout(previous));
}
