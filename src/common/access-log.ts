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
      const line = `${method} ${route ?? '(no route)'} ${status}`;
      const durationMs = Math.round(ms * 10) / 10;
      // The ids first, as the request-context mixin puts them on other lines.
      logger.access(
        line,
        traceId
          ? { requestId, traceId, context: 'HTTP', method, route: route ?? null, status, durationMs }
          : { requestId, context: 'HTTP', method, route: route ?? null, status, durationMs },
      );
    });
  },
};
