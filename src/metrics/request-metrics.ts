import type { EdgeStep } from '../edge/edge-step.js';
import { Metrics } from './metrics.service.js';

/** The edge step counting every answer (http_requests_total, http_request_duration_seconds), fast paths included. */
export const requestMetrics: EdgeStep = {
  name: 'request metrics',
  register({ app, answered }) {
    const metrics = app.get(Metrics);
    answered.listen(({ method, route, status, ms }) =>
      metrics.observe(method, route ?? '(no route)', status, ms / 1000),
    );
  },
};
