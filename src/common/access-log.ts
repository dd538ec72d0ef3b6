import type { EdgeStep } from '../edge/edge-step.js';
import { AppLogger } from './logger.js';

/**
 * The edge step logging every answer at level info: one line with method, route template
 * (never the path, which may carry ids or tokens), status, duration, request id and, when
 * tracing, trace id. No headers, query or body.
 */
export const accessLog: EdgeStep = {
  name: 'access log',
  register({ app, answered }) {
    const logger = app.get(AppLogger);
    answered.listen(({ method, route, status, ms, requestId, traceId }) => {
      if (!logger.enabled('info')) return;
      logger.write('info', `${method} ${route ?? '(no route)'} ${status}`, 'HTTP', {
        method,
        route: route ?? null,
        status,
        durationMs: Math.round(ms * 10) / 10,
        requestId,
        ...(traceId ? { traceId } : {}),
      });
    });
  },
};
