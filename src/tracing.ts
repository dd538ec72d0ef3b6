// OpenTelemetry, bundled on its own as dist/tracing.js (scripts/bundle.mjs) and imported
// by src/tracing/load.ts only when OTEL_EXPORTER_OTLP_ENDPOINT is set: without it, none
// of this is loaded. The server's own modules are bundled, so require-hook based
// auto-instrumentation cannot see them: spans come from the request hooks
// (src/tracing/request-tracing.ts), a patch of pg's Client#query, node-redis's and
// Node's HTTP clients' diagnostics channels, and traced() around SMTP sends.
import diagnostics from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { Tracing, TraceSpan } from './common/trace-context.js';
import type { TracingConfig } from './config/config.js';

type QueryFn = (this: PgClientLike, ...args: unknown[]) => unknown;
interface PgClientLike {
  database?: string;
  host?: string;
  port?: number;
}

export interface TracingOptions {
  config: TracingConfig;
  /** OTEL_BSP_SCHEDULE_DELAY: how often spans are exported, in ms (default 5000). */
  scheduleDelayMs?: number;
  serviceVersion: string;
  /** The pg module the server uses (its Client#query gets a span per query). */
  pg: { Client: { prototype: { query: QueryFn } } };
}

/** The standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (checked by loadConfig). */
export function sampler(name: TracingConfig['sampler'], ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

export function startTracing(options: TracingOptions): Tracing {
  const { config } = options;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const provider = new TracerProvider({
    // OTEL_RESOURCE_ATTRIBUTES may add attributes; OTEL_SERVICE_NAME is config.serviceName.
    resource: detectResources({ detectors: [envDetector] }).merge(
      resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': options.serviceVersion }),
    ),
    sampler: sampler(config.sampler, config.samplerRatio),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        scheduledDelayMillis: options.scheduleDelayMs ?? 5000,
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  const tracer = trace.getTracer('ultrai-core', options.serviceVersion);

  /** Client spans only inside a request's trace: background work (pruning, the outbox) starts none. */
  const childOfActive = (name: string, kind: SpanKind, attributes: Attributes): Span | undefined => {
    const parent = context.active();
    if (trace.getSpan(parent) === undefined || isTracingSuppressed(parent)) return undefined;
    return tracer.startSpan(name, { kind, attributes }, parent);
  };

  instrumentPg(options.pg, childOfActive);
  instrumentRedis(childOfActive);
  instrumentHttpClients(childOfActive);

  return {
    currentTraceId() {
      const span = trace.getSpan(context.active());
      return span ? span.spanContext().traceId : undefined;
    },
    startServerSpan(method, path, headers) {
      const parent = propagation.extract(ROOT_CONTEXT, headers);
      const span = tracer.startSpan(
        method,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } },
        parent,
      );
      return wrap(span, trace.setSpan(parent, span));
    },
    startSpan(name, kind, attributes) {
      const span = tracer.startSpan(name, {
        kind: kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL,
        attributes,
      });
      return wrap(span, trace.setSpan(context.active(), span));
    },
    shutdown: () => provider.shutdown(),
  };
}

function wrap(span: Span, spanContext: Context): TraceSpan {
  return {
    traceId: span.spanContext().traceId,
    run: (fn) => context.with(spanContext, fn),
    set(attributes) {
      for (const [key, value] of Object.entries(attributes)) if (value !== undefined) span.setAttribute(key, value);
    },
    rename: (name) => span.updateName(name),
    fail: (error) => fail(span, error),
    end: () => span.end(),
  };
}

function fail(span: Span, error: unknown): void {
  if (error !== undefined) span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : undefined });
}

type StartChild = (name: string, kind: SpanKind, attributes: Attributes) => Span | undefined;

/** A CLIENT span per query: its parameterized text (never the values), database and server. */
function instrumentPg(pg: TracingOptions['pg'], startChild: StartChild): void {
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function tracedQuery(this: PgClientLike, ...args: unknown[]) {
    const config = args[0] as string | { text?: unknown } | undefined;
    const text = typeof config === 'string' ? config : config?.text;
    const span =
      typeof text === 'string'
        ? startChild(text.trimStart().split(/\s/, 1)[0].toUpperCase() || 'query', SpanKind.CLIENT, {
            'db.system.name': 'postgresql',
            'db.query.text': text,
            'db.namespace': this.database ?? '',
            'server.address': this.host ?? '',
            'server.port': this.port ?? 5432,
          })
        : undefined;
    if (!span) return original.apply(this, args);
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const callback = args[last] as (error: unknown, ...rest: unknown[]) => void;
      args[last] = (error: unknown, ...rest: unknown[]) => {
        if (error) fail(span, error);
        span.end();
        callback(error, ...rest);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args) as Promise<unknown> | undefined;
    if (result && typeof result.then === 'function') {
      result.then(
        () => span.end(),
        (error: unknown) => {
          fail(span, error);
          span.end();
        },
      );
    } else span.end();
    return result;
  };
}

interface RedisCommandContext {
  command: string;
  database?: number;
  serverAddress?: string;
  serverPort?: number;
  error?: unknown;
  span?: Span;
}

/** node-redis (5.x) publishes each command on a tracing channel: a CLIENT span per command. */
function instrumentRedis(startChild: StartChild): void {
  diagnostics.tracingChannel<unknown, RedisCommandContext>('node-redis:command').subscribe({
    start(message) {
      message.span = startChild(message.command, SpanKind.CLIENT, {
        'db.system.name': 'redis',
        'db.operation.name': message.command,
        'db.namespace': String(message.database ?? 0),
        'server.address': message.serverAddress ?? '',
        ...(message.serverPort ? { 'server.port': message.serverPort } : {}),
      });
    },
    end(message) {
      // A synchronous throw: no asyncEnd follows.
      if (message.error !== undefined) message.span?.end();
    },
    asyncStart() {},
    asyncEnd(message) {
      message.span?.end();
    },
    error(message) {
      if (message.span) fail(message.span, message.error);
    },
  });
}

interface UndiciRequest {
  method: string;
  origin: string;
  path: string;
  addHeader(name: string, value: string): void;
}

/** Outbound HTTP (fetch through undici, node:http for the SDKs that use it): CLIENT spans, traceparent passed on. */
function instrumentHttpClients(startChild: StartChild): void {
  const fetches = new WeakMap<object, Span>();
  diagnostics.subscribe('undici:request:create', (message) => {
    const { request } = message as { request: UndiciRequest };
    const span = startChild(request.method, SpanKind.CLIENT, {
      'http.request.method': request.method,
      'url.full': `${request.origin}${request.path.split('?')[0]}`,
    });
    if (!span) return;
    fetches.set(request, span);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    for (const [name, value] of Object.entries(carrier)) request.addHeader(name, value);
  });
  endOn('undici:request:headers', 'undici:request:error', fetches);

  const requests = new WeakMap<object, Span>();
  diagnostics.subscribe('http.client.request.start', (message) => {
    const { request } = message as {
      request: { method: string; host: string; path: string; setHeader(n: string, v: string): void };
    };
    const span = startChild(request.method, SpanKind.CLIENT, {
      'http.request.method': request.method,
      'server.address': request.host,
      'url.path': request.path.split('?')[0],
    });
    if (!span) return;
    requests.set(request, span);
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), carrier);
    try {
      for (const [name, value] of Object.entries(carrier)) request.setHeader(name, value);
    } catch {
      // Headers already sent: the span still measures the call.
    }
  });
  endOn('http.client.response.finish', 'http.client.request.error', requests);
}

/** Ends the span of a request (kept in `spans`) on its response channel, or failed on its error channel. */
function endOn(responseChannel: string, errorChannel: string, spans: WeakMap<object, Span>): void {
  diagnostics.subscribe(responseChannel, (message) => {
    const { request, response } = message as { request: object; response: { statusCode?: number } };
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (response.statusCode) span.setAttribute('http.response.status_code', response.statusCode);
    if (response.statusCode !== undefined && response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  diagnostics.subscribe(errorChannel, (message) => {
    const { request, error } = message as { request: object; error: unknown };
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    fail(span, error);
    span.end();
  });
}
