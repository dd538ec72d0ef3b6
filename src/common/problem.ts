import { STATUS_CODES } from 'node:http';
import { currentTraceId } from './trace-context.js';

export interface FieldError {
  field: string;
  message: string;
}

/** RFC 9457 problem details, as every error response of the API carries them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  /** The request's OpenTelemetry trace id, when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT). */
  traceId?: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * A failure the API explains to its caller. Services throw these (or a
 * subclass); the problem filter turns them into problem+json.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    /** Stable slug naming the kind of problem; becomes the problem `type`. */
    readonly code: string,
    detail: string,
    readonly errors?: FieldError[],
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = 'AppError';
  }
}

export class ValidationFailedError extends AppError {
  constructor(errors: FieldError[], detail = 'The request is not valid.') {
    super(400, 'validation-failed', detail, errors);
  }
}

export class NotFoundError extends AppError {
  constructor(detail = 'The resource does not exist.') {
    super(404, 'not-found', detail);
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(detail: string) {
    super(503, 'service-unavailable', detail, undefined, { 'retry-after': '5' });
  }
}

/**
 * The one builder of a problem+json body: every error answer (the filter, Fastify's own
 * refusals, the drain 503, the OpenAPI examples) comes through here. `code` names the
 * kind of problem (its `type`); none gives `about:blank`.
 */
export function problemBody(
  status: number,
  code: string | undefined,
  detail: string,
  at: { instance: string; requestId: string },
  errors?: FieldError[],
): Problem {
  const traceId = currentTraceId();
  return {
    type: problemType(code),
    title: statusTitle(status),
    status,
    detail,
    instance: at.instance,
    requestId: at.requestId,
    ...(traceId ? { traceId } : {}),
    ...(errors ? { errors } : {}),
  };
}

function problemType(code: string | undefined): string {
  return code ? `urn:ultrai:problem:${code}` : 'about:blank';
}

export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
