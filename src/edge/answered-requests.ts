import { requestTraceId } from '../tracing/request-tracing.js';
import type { EdgeStep } from './edge-step.js';

/** One request answered: by the full pipeline (Fastify's onResponse) or by a fast path before it. */
export interface AnsweredRequest {
  method: string;
  /** The route template, or undefined when no route matched. */
  route: string | undefined;
  status: number;
  ms: number;
  requestId: string;
  /** The request's trace id, when tracing is on. */
  traceId?: string;
}

export type AnswerListener = (answer: AnsweredRequest) => void;

/**
 * Where every answer is reported, whichever layer gave it; listeners (request
 * metrics, the access log) are added as their steps register. Made before the
 * HTTP server, since the liveness fast path answers in front of Fastify.
 */
export class AnsweredRequests {
  private readonly listeners: AnswerListener[] = [];

  listen(listener: AnswerListener): void {
    this.listeners.push(listener);
  }

  report(answer: AnsweredRequest): void {
    for (const listener of this.listeners) listener(answer);
  }
}

/** The edge step reporting the pipeline's answers (from Fastify's onResponse hook). */
export const reportAnswers: EdgeStep = {
  name: 'report answers',
  register({ fastify, answered }) {
    fastify.addHook('onResponse', (request, reply, done) => {
      answered.report({
        method: request.method,
        route: request.routeOptions.url,
        status: reply.statusCode,
        ms: reply.elapsedTime,
        requestId: String(request.id),
        traceId: requestTraceId(request),
      });
      done();
    });
  },
};
