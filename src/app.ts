import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { Authenticator } from './auth/authenticator.js';
import { CacheGenerations } from './cache/cache-generations.js';
import { CachedReads } from './cache/cached-reads.js';
import { RateLimitStorage } from './rate-limit/rate-limit.storage.js';
import { ResponseCache } from './cache/response-cache.js';
import { Database } from './database/database.js';
import { Metrics } from './metrics/metrics.service.js';
import { AppLogger } from './common/logger.js';
import { frameworkProblem, guardInput } from './common/input-guard.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './common/problem.js';
import { ProblemFilter } from './common/problem.filter.js';
import { REQUEST_ID_HEADER, requestIdFor, runWithRequestId } from './common/request-context.js';
import { createValidationPipe } from './common/validation.js';
import type { AppConfig } from './config/config.js';
import { LIVENESS_PATH, LivenessFastPath, serverWithFastPath } from './health/liveness.js';
import { setupSwagger } from './swagger.js';

export const JSON_BODY_LIMIT_BYTES = 1024 * 1024;
const HSTS = 'max-age=31536000; includeSubDomains';

type SecurityHook = (request: FastifyRequest, response: FastifyReply['raw']) => void;

const draining = new WeakSet<object>();
const fastPaths = new WeakMap<object, LivenessFastPath>();

/** From now on, new requests get 503 problem+json; those already accepted run to the end. */
export function startDraining(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  draining.add(fastify);
  fastPaths.get(fastify)?.stop();
}

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

/** Builds the whole application (not yet listening); tests use it as main.ts does. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const logger = options.logger ?? createLogger(config);
  // Every answer is counted and, at level info, logged: from Fastify's onResponse hook or the liveness fast path.
  let recordResponse: (
    method: string,
    route: string | undefined,
    status: number,
    ms: number,
    id: string,
  ) => void = () => undefined;
  let countFastPath = (): void => undefined;
  const liveness = new LivenessFastPath((requestId, seconds) => {
    countFastPath();
    recordResponse('GET', LIVENESS_PATH, 200, seconds * 1000, requestId);
  });
  // HSTS only to a client that came over HTTPS (always, in production behind Render's proxy):
  // sent over plain HTTP in development, it would pin the browser's localhost to HTTPS.
  const sendsHsts = (request: FastifyRequest) => config.production || request.protocol === 'https';
  const adapter = new FastifyAdapter({
    serverFactory: serverWithFastPath(liveness, config.bodyIdleTimeoutMs),
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    genReqId: requestIdFor,
    logger: false,
    // Our own hook answers during shutdown, as problem+json (see startDraining).
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
      if (sendsHsts(request)) reply.header('strict-transport-security', HSTS);
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
        fileSize: config.uploadMaxBytes,
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
      // Our JSON parser replaces Fastify's (see guardInput); Nest must not register its own.
      bodyParser: false,
    },
  );

  const fastify = app.getHttpAdapter().getInstance();
  guardInput(fastify, JSON_BODY_LIMIT_BYTES);
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (draining.has(fastify)) {
      // Not accepted: the client should retry (on another instance); the connection closes.
      reply
        .code(503)
        .headers({ connection: 'close', 'retry-after': '1' })
        .type(PROBLEM_CONTENT_TYPE)
        .send(
          JSON.stringify(
            problemBody(503, 'shutting-down', 'This instance is shutting down; retry in a moment.', {
              instance: request.url.split('?')[0],
              requestId: request.id,
            }),
          ),
        );
      return;
    }
    runWithRequestId(request.id, done);
  });
  const metrics = app.get(Metrics);
  recordResponse = (method, route, status, ms, requestId) => {
    metrics.observe(method, route ?? '(no route)', status, ms / 1000);
    if (logger.enabled('info')) {
      logger.write('info', `${method} ${route ?? '(no route)'} ${status}`, 'HTTP', {
        method,
        route: route ?? null,
        status,
        durationMs: Math.round(ms * 10) / 10,
        requestId,
      });
    }
  };
  countFastPath = () => metrics.livenessFastPath.inc();
  fastPaths.set(fastify, liveness);
  // Answers carry tokens and users' data: no browser or proxy may keep them (cache hits included).
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (
      !reply.hasHeader('cache-control') &&
      /^application\/(problem\+)?json/.test(String(reply.getHeader('content-type')))
    )
      reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    recordResponse(request.method, route, reply.statusCode, reply.elapsedTime, String(request.id));
    if (route === LIVENESS_PATH && reply.statusCode === 200 && LivenessFastPath.eligible(request.raw)) {
      liveness.learn(reply.getHeaders());
    }
    done();
  });

  app.useSecurityHeaders({
    contentSecurityPolicy: {
      // Served over plain HTTP in development: upgrading would break /docs there.
      directives: { upgradeInsecureRequests: null },
    },
    strictTransportSecurity: false,
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (sendsHsts(request)) reply.header('strict-transport-security', HSTS);
    done();
  });
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: [REQUEST_ID_HEADER, 'location', 'etag', 'retry-after'],
      maxAge: 600,
    });
  }
  // After the security headers and CORS hooks, so a hit answered here carries their headers too.
  const cachedReads = new CachedReads({
    config,
    authenticator: app.get(Authenticator),
    generations: app.get(CacheGenerations),
    cache: app.get(ResponseCache),
    limits: app.get(RateLimitStorage),
    metrics,
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!cachedReads.eligible(request)) return done();
    cachedReads.answer(request, reply).then(
      (answered) => answered || done(),
      () => done(),
    );
  });
  const database = app.get(Database);
  app.useGlobalFilters(new ProblemFilter(logger, () => database.ready));
  app.useGlobalPipes(createValidationPipe());
  if (config.docsEnabled) setupSwagger(app);
  else logger.log('DOCS_ENABLED=false: /docs and /docs/openapi.json answer 404', 'Config');
  if (config.production && config.metricsToken === undefined) {
    logger.warn('METRICS_TOKEN is not set: GET /metrics answers 404 (set it to scrape metrics)', 'Config');
  }
  return app;
}
