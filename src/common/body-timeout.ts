import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
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
  const socket = request.socket as LingeringSocket;
  socket[BODY_REQUEST] = request;
  if (socket.destroySoon !== lingeringDestroySoon) socket.destroySoon = lingeringDestroySoon;
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

/** The longest a connection keeps reading an unwanted body after its answer went out. */
const LINGER_MS = 5_000;
const BODY_REQUEST = Symbol('request with a body');
type LingeringSocket = Socket & { [BODY_REQUEST]?: IncomingMessage };
const netDestroySoon = Socket.prototype.destroySoon;

/**
 * A lingering close (RFC 9112, section 9.6). Node closes a `Connection: close`
 * connection as soon as the answer is written; when the client is still sending
 * a body nobody will read (a 413, a 401 before the upload), the kernel answers
 * the unread bytes with a reset, which also throws away the answer the client
 * has not read yet: it sees "broken pipe" instead of the 413. So the answer
 * goes out with a FIN and the rest of the body is read and dropped until it
 * ends, the client closes, or LINGER_MS pass (a silent client meets the body
 * idle timeout first); then the connection closes, with nothing left unread.
 */
function lingeringDestroySoon(this: LingeringSocket): void {
  const request = this[BODY_REQUEST];
  if (request === undefined || request.complete || this.destroyed) {
    netDestroySoon.call(this);
    return;
  }
  this.end();
  const close = () => this.destroy();
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  this.once('close', () => clearTimeout(timer));
  this.once('end', close);
  request.once('end', close);
  request.once('error', close);
  // Node's server dumps (reads and drops) an unconsumed body; a parser that gave up reading it left it flowing.
  request.resume();
}
