/**
 * What the rest of the service knows of tracing: nothing is loaded here. When
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, src/tracing/load.ts imports the OpenTelemetry
 * bundle (dist/tracing.js) and installs it with setTracing; until then (and always
 * without the variable) every function here is a cheap no-op.
 */

/** A span started by the tracing bundle; `run` makes it the parent of what `fn` starts. */
export interface TraceSpan {
  readonly traceId: string;
  run<T>(fn: () => T): T;
  /** Records attributes (string, number or boolean values). */
  set(attributes: Record<string, string | number | boolean | undefined>): void;
  rename(name: string): void;
  /** Marks the span failed (with the error as an exception event, when given). */
  fail(error?: unknown): void;
  end(): void;
}

export interface Tracing {
  /** The trace id of the active span, if a sampled or unsampled one is active. */
  currentTraceId(): string | undefined;
  /** An inbound request's SERVER span, continuing its `traceparent` header when there is one. */
  startServerSpan(method: string, path: string, headers: Record<string, string | string[] | undefined>): TraceSpan;
  /** A span under the active one (INTERNAL, or CLIENT for calls to other services). */
  startSpan(
    name: string,
    kind: 'internal' | 'client',
    attributes?: Record<string, string | number | boolean>,
  ): TraceSpan;
  /** Exports what is still buffered; called once at shutdown. */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

export function setTracing(tracing: Tracing | undefined): void {
  active = tracing;
}

export function tracing(): Tracing | undefined {
  return active;
}

export function currentTraceId(): string | undefined {
  return active?.currentTraceId();
}

/** Runs `work` in a CLIENT/INTERNAL span when tracing is on; as is otherwise. */
export async function traced<T>(
  name: string,
  kind: 'internal' | 'client',
  attributes: Record<string, string | number | boolean>,
  work: () => Promise<T>,
): Promise<T> {
  if (!active) return work();
  const span = active.startSpan(name, kind, attributes);
  try {
    return await span.run(work);
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}
