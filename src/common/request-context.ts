import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { EdgeStep } from '../edge/edge-step.js';

interface RequestContext {
  requestId: string;
  /** Set once the request reaches Nest (see the audit module), for records that name the client. */
  client?: { ip: string | null; userAgent: string | null };
}

const storage = new AsyncLocalStorage<RequestContext>();

/** A client's request id is echoed only when it is short and plain. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Runs the rest of a request's life with its id available to every log line. */
export function runWithRequestId(requestId: string, next: () => void): void {
  storage.run({ requestId }, next);
}

/** The edge step giving every answer its X-Request-Id, and the rest of the request its id (for log lines). */
export const requestId: EdgeStep = {
  name: 'request id',
  register({ fastify }) {
    fastify.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      runWithRequestId(request.id, done);
    });
  },
};

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

export function setRequestClient(client: { ip: string | null; userAgent: string | null }): void {
  const store = storage.getStore();
  if (store) store.client = client;
}

export function currentRequestClient(): { ip: string | null; userAgent: string | null } | undefined {
  return storage.getStore()?.client;
}
