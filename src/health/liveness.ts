import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import { limitBodyIdleTime } from '../common/body-timeout.js';
import { packageInfo } from '../common/package-info.js';
import { REQUEST_ID_HEADER, requestIdFor } from '../common/request-context.js';
import type { EdgeStep } from '../edge/edge-step.js';
import { Draining } from '../lifecycle/draining.js';
import { Metrics } from '../metrics/metrics.service.js';
import type { LivenessDto } from './health.dto.js';

export const LIVENESS_PATH = '/health';

/** The body of GET /health, from the controller and from the fast path alike. */
export function livenessBody(): LivenessDto {
  return {
    status: 'ok',
    services: ['api', 'database', 'cache', 'auth', 'users', 'documents'],
    version: packageInfo.version,
    uptime: Math.round(process.uptime() * 10) / 10,
  };
}

/** Headers that belong to one response, never to the copied set. */
const PER_RESPONSE = new Set(['content-length', 'date', 'connection', 'keep-alive', REQUEST_ID_HEADER]);

/** Told of each answer given here: its request id and how long it took, in seconds. */
export type LivenessObserver = (requestId: string, seconds: number) => void;

/**
 * GET /health is what load balancers and Render call every few seconds, so it is
 * answered at the HTTP server, before Fastify and Nest, with exactly the headers
 * the full pipeline gave it: the first plain GET /health goes through the whole
 * application (guards, hooks, security headers) and the fast path copies that
 * answer's headers; every later one costs a few microseconds instead of ~100.
 *
 * Anything else (another method, a query string, an Origin header that may need
 * CORS headers, a request during shutdown) takes the full pipeline, as every
 * other route does. Metrics, request ids and the access log still see it.
 */
export class LivenessFastPath {
  private headers: Array<string> | undefined;
  private stopped = false;
  private readonly observers: LivenessObserver[] = [];

  /**
   * Its edge step: learns from the pipeline's answers, reports its own (to the
   * request metrics and the access log, and liveness_fast_path_answers_total),
   * and stops when draining starts.
   */
  readonly step: EdgeStep = {
    name: 'liveness fast path',
    register: ({ app, fastify, answered }) => {
      const metrics = app.get(Metrics);
      this.observers.push((requestId, seconds) => {
        metrics.livenessFastPath.inc();
        answered.report({ method: 'GET', route: LIVENESS_PATH, status: 200, ms: seconds * 1000, requestId });
      });
      app.get(Draining).onStart(() => this.stop());
      fastify.addHook('onResponse', (request, reply, done) => {
        // The plain checks first: Fastify builds a new routeOptions object on each read.
        if (
          LivenessFastPath.eligible(request.raw) &&
          reply.statusCode === 200 &&
          request.routeOptions.url === LIVENESS_PATH
        ) {
          this.learn(reply.getHeaders());
        }
        done();
      });
    },
  };

  /** Whether this request can be answered here (and the pipeline's answer copied from). */
  static eligible(request: IncomingMessage): boolean {
    return request.method === 'GET' && request.url === LIVENESS_PATH && request.headers.origin === undefined;
  }

  /** Called with the headers of a 200 the full pipeline gave an eligible request. */
  learn(headers: Record<string, unknown>): void {
    if (this.headers || this.stopped) return;
    const copied: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (PER_RESPONSE.has(name.toLowerCase()) || value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) copied.push(name, String(one));
    }
    this.headers = copied;
  }

  /** From now on every request takes the full pipeline (which answers 503 while draining). */
  stop(): void {
    this.stopped = true;
    this.headers = undefined;
  }

  /** Answers the request and returns true, or returns false for the pipeline to handle it. */
  answer(request: IncomingMessage, response: ServerResponse): boolean {
    if (!this.headers || !LivenessFastPath.eligible(request)) return false;
    const started = performance.now();
    const requestId = requestIdFor(request);
    const body = JSON.stringify(livenessBody());
    response.writeHead(200, [
      ...this.headers,
      REQUEST_ID_HEADER,
      requestId,
      'content-length',
      String(Buffer.byteLength(body)),
    ]);
    response.end(body);
    const seconds = (performance.now() - started) / 1000;
    for (const observe of this.observers) observe(requestId, seconds);
    return true;
  }
}

/**
 * Fastify's serverFactory: the HTTP server Fastify would create (same timeouts),
 * with the liveness fast path in front of Fastify's handler and a bound on
 * how long a request body may stall.
 */
export function serverWithFastPath(
  fastPath: LivenessFastPath,
  bodyIdleTimeoutMs: number,
): (handler: (request: IncomingMessage, response: ServerResponse) => void, options: FastifyServerOptions) => Server {
  return (handler, options) => {
    const server = createServer((options as { http?: ServerOptions }).http ?? {}, (request, response) => {
      limitBodyIdleTime(request, response, bodyIdleTimeoutMs);
      if (!fastPath.answer(request, response)) handler(request, response);
    });
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}
