import type { EdgeStep } from '../edge/edge-step.js';
import { AppLogger } from './logger.js';

/** The edge step logging every answer at level info (one line: method, route, status, duration, request id). */
export const accessLog: EdgeStep = {
  name: 'access log',
  register({ app, answered }) {
    const logger = app.get(AppLogger);
    answered.listen(({ method, route, status, ms, requestId }) => {
      if (!logger.enabled('info')) return;
      logger.write('info', `${method} ${route ?? '(no route)'} ${status}`, 'HTTP', {
        method,
        route: route ?? null,
        status,
        durationMs: Math.round(ms * 10) / 10,
        requestId,
      });
    });
  },
};
