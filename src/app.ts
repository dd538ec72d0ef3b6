import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { cachedReads } from './cache/cached-reads.js';
import { accessLog } from './common/access-log.js';
import { AppLogger } from './common/logger.js';
import { frameworkProblem, jsonGuard } from './common/input-guard.js';
import { PROBLEM_CONTENT_TYPE } from './common/problem.js';
import { ProblemFilter } from './common/problem.filter.js';
import { REQUEST_ID_HEADER, requestId, requestIdFor } from './common/request-context.js';
import { cors, HSTS, noStore, securityHeaders, sendsHsts } from './common/response-headers.js';
import { ValidationPipeWithQueries } from './common/validation.js';
import type { AppConfig } from './config/config.js';
import { Database } from './database/database.js';
import { AnsweredRequests, reportAnswers } from './edge/answered-requests.js';
import { type EdgeStep, registerEdge } from './edge/edge-step.js';
import { LivenessFastPath, serverWithFastPath } from './health/liveness.js';
import { Draining } from './lifecycle/draining.js';
import { requestMetrics } from './metrics/request-metrics.js';
import { setupSwagger } from './swagger.js';
import { tracing } from './common/trace-context.js';
import { HandlerSpanInterceptor, traceRequests } from './tracing/request-tracing.js';

export const JSON_BODY_LIMIT_BYTES = 1024 * 1024;

type SecurityHook = (request: FastifyRequest, response: FastifyReply['raw']) => void;

/**
 * Fastify 5 refuses a bare hop count (a client reaching the service directly
 * could forge the header), so a count becomes "trust the nearest N hops": right
 * where the service is reachable only through its proxy, as on Render.
 */
function fastifyTrustProxy(
  setting: AppConfig['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

export function createLogger(config: AppConfig): AppLogger {
  return new AppLogger(config.logLevel, config.production);
}

export interface CreateAppOptions {
  logger?: AppLogger;
  /** Extra modules mounted beside the application's own (tests add probe routes). */
  extraModules?: Array<Type | DynamicModule>;
}

/**
 * The request edge: what runs around Nest's pipeline, each step owned by its
 * module, in the order Fastify runs them (hooks of one kind run in the order
 * they were added; the liveness fast path answers before Fastify, in the HTTP
 * server, and only learns here).
 */
function edgeSteps(app: NestFastifyApplication, liveness: LivenessFastPath): EdgeStep[] {
  const activeTracing = tracing();
  return [
    ...(activeTracing ? [traceRequests(activeTracing)] : []), // OTEL_EXPORTER_OTLP_ENDPOINT: a span around all the rest
    requestId, // X-Request-Id on every answer, and the id in every log line
    app.get(Draining).step, // 503 to new requests while shutting down
    jsonGuard(JSON_BODY_LIMIT_BYTES), // our JSON parser, query checks, per-route body limits
    reportAnswers, // every answer reported (onResponse), before the liveness path learns from it
    liveness.step, // GET /health answered before Fastify once learnt; stops when draining starts
    noStore, // Cache-Control: no-store on JSON answers
    securityHeaders, // helmet's headers, HSTS over HTTPS
    cors, // CORS_ORIGINS
    cachedReads, // cache hits answered before the pipeline: after the headers above, so a hit has them
    requestMetrics, // http_requests_total, http_request_duration_seconds
    accessLog, // one log line per answer at level info
  ];
}

/** Builds the whole application (not yet listening); tests use it as main.ts does. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(config);
  const liveness = new LivenessFastPath();
  const adapter = new FastifyAdapter({
    serverFactory: serverWithFastPath(liveness, config.bodyIdleTimeoutMs),
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    genReqId: requestIdFor,
    logger: false,
    // Our own step answers during shutdown, as problem+json (see Draining).
    return503OnClosing: false,
    // Fastify's own refusals (unroutable URL, overlong parameter, unparsable request) as problem+json too.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400;
      // No hook runs for these: the security headers come from the adapter's own hook, as its
      // default frameworkErrors (which this one replaces) does.
      try {
        (adapter as unknown as { securityHook?: SecurityHook }).securityHook?.(request, reply.raw);
      } catch {
        // Refused either way; a throw here would escape the router.
      }
      // (Fastify builds these requests without its trust-proxy getters: a forwarded https is not seen here.)
      if (sendsHsts(config, request)) reply.header('strict-transport-security', HSTS);
      void reply
        .code(status)
        .header(REQUEST_ID_HEADER, request.id)
        .type(PROBLEM_CONTENT_TYPE)
        .send(frameworkProblem(status, error.message, request.url.split('?')[0], String(request.id)));
    },
    clientErrorHandler: (error, socket) => {
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const body = frameworkProblem(400, 'The request could not be parsed as HTTP.', '', '');
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
    // Uploads are streamed and checked by the documents module; these bound what the parser accepts.
    multipart: {
      limits: {
        // One byte over the limit, so the upload check sees (and refuses) a file that passes it.
        fileSize: config.uploadMaxBytes + 1,
        files: 1,
        fields: 8,
        fieldSize: 64 * 1024,
        parts: 10,
        headerPairs: 50,
      },
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger, options.extraModules),
    adapter,
    {
      logger,
      abortOnError: false,
      // Our JSON parser replaces Fastify's (see jsonGuard); Nest must not register its own.
      bodyParser: false,
    },
  );

  registerEdge(edgeSteps(app, liveness), {
    app,
    fastify: app.getHttpAdapter().getInstance(),
    config,
    answered: new AnsweredRequests(),
  });
  const database = app.get(Database);
  app.useGlobalFilters(new ProblemFilter(logger, () => database.ready));
  app.useGlobalPipes(new ValidationPipeWithQueries());
  const activeTracing = tracing();
  if (activeTracing) app.useGlobalInterceptors(new HandlerSpanInterceptor(activeTracing));
  if (config.docsEnabled) setupSwagger(app);
  else logger.log('DOCS_ENABLED=false: /docs and /docs/openapi.json answer 404', 'Config');
  if (config.production && config.metricsToken === undefined) {
    logger.warn('METRICS_TOKEN is not set: GET /metrics answers 404 (set it to scrape metrics)', 'Config');
  }
  return app;
}
