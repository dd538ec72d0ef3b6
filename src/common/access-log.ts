import type { AppLogger } from './logger.js';

/** One entry per answered request. */
export interface AccessEntry {
  method: string;
  route: string | undefined;
  status: number;
  ms: number;
  requestId: string;
  traceId?: string;
}

/**
 * The one line per request, at info: method, route template (never the path, which may
 * carry ids or tokens), status, duration, request id and, when tracing, trace id. No
 * headers, query or body.
 */
export function writeAccessLine(logger: AppLogger, entry: AccessEntry): void {
  if (!logger.enabled('info')) return;
  const route = entry.route ?? '(no route)';
  logger.write('info', `${entry.method} ${route} ${entry.status}`, 'HTTP', {
    method: entry.method,
    route: entry.route ?? null,
    status: entry.status,
    durationMs: Math.round(entry.ms * 10) / 10,
    requestId: entry.requestId,
    ...(entry.traceId ? { traceId: entry.traceId } : {}),
  });
}
