import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import type { Tracing, TraceSpan } from '../common/trace-context.js';
import type { EdgeStep } from '../edge/edge-step.js';

const serverSpans = new WeakMap<FastifyRequest, TraceSpan>();

/** The request's trace id, once its server span has started (for the access line). */
export function requestTraceId(request: FastifyRequest): string | undefined {
  return serverSpans.get(request)?.traceId;
}

/**
 * The edge step of tracing: a SERVER span per request, from the first hook to the response:
 * it continues the caller's `traceparent`, and every span started while the request is
 * handled (Nest handler, queries, Redis commands, outbound calls) is its descendant. First
 * of the steps (src/app.ts), only when tracing is on. (The liveness fast path, answered
 * before Fastify, is not traced.)
 */
export function traceRequests(tracing: Tracing): EdgeStep {
  return {
    name: 'trace requests',
    register({ fastify }) {
      fastify.addHook('onRequest', (request, _reply, done) => {
        const span = tracing.startServerSpan(request.method, request.url.split('?')[0], request.headers);
        serverSpans.set(request, span);
        span.run(done);
      });
      const finish = (request: FastifyRequest, status: number | undefined): void => {
        const span = serverSpans.get(request);
        if (!span) return;
        const route = request.routeOptions.url;
        if (route) span.rename(`${request.method} ${route}`);
        span.set({ 'http.route': route, 'http.response.status_code': status });
        if (status === undefined || status >= 500) span.fail();
        span.end();
      };
      fastify.addHook('onResponse', (request, reply, done) => {
        finish(request, reply.statusCode);
        done();
      });
      fastify.addHook('onRequestAbort', (request, done) => {
        finish(request, undefined);
        done();
      });
    },
  };
}

/** An INTERNAL span around each Nest handler (`Controller.method`), the parent of what it does. */
export class HandlerSpanInterceptor implements NestInterceptor {
  constructor(private readonly tracing: Tracing) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const name = `${context.getClass().name}.${context.getHandler().name}`;
    return new Observable((subscriber) => {
      const span = this.tracing.startSpan(name, 'internal', { 'code.function.name': name });
      const subscription = span.run(() =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            const status = (error as { status?: unknown }).status;
            if (!(typeof status === 'number' && status < 500)) span.fail(error);
            span.end();
            subscriber.error(error);
          },
          complete: () => {
            span.end();
            subscriber.complete();
          },
        }),
      );
      return () => subscription.unsubscribe();
    });
  }
}
