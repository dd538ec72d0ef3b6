import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { EdgeStep } from '../edge/edge-step.js';

/** What the client of a request is read from, when a record names it (Fastify's request: its `ip` follows TRUST_PROXY). */
interface ClientSource {
  readonly ip?: string;
  readonly headers: IncomingMessage['headers'];
}

interface RequestContext {
  requestId: string;
  /** The request, for records that name the client (read only then: most requests write none). */
  source?: ClientSource;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** A client's request id is echoed only when it is short and plain. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Runs the rest of a request's life with its id available to every log line, and its client to audit records. */
export function runWithRequestId(requestId: string, next: () => void, source?: ClientSource): void {
  storage.run({ requestId, source }, next);
}

/** The edge step giving every answer its X-Request-Id, and the rest of the request its id (for log lines). */
export const requestId: EdgeStep = {
  name: 'request id',
  register({ fastify }) {
    fastify.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      runWithRequestId(request.id, done, request);
    });
  },
};

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** The current request's client IP (as TRUST_PROXY makes it) and user agent, bounded, for audit records. */
export function currentRequestClient(): { ip: string | null; userAgent: string | null } | undefined {
  const source = storage.getStore()?.source;
  if (!source) return undefined;
  const userAgent = source.headers['user-agent'];
  return {
    ip: source.ip ? source.ip.slice(0, 64) : null,
    userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent.slice(0, 512) : null,
  };
}
