import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from './database-errors.js';
import { AppLogger } from './logger.js';
import { AppError, type Problem, PROBLEM_CONTENT_TYPE, problemBody } from './problem.js';

/** Fastify's own client errors (body parsing, limits), by code. */
const FASTIFY_ERRORS: Record<string, { code: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload-too-large', detail: 'The request body is larger than allowed.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported-media-type',
    detail: 'The Content-Type header cannot be read: send JSON with Content-Type: application/json.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'malformed-body',
    detail: 'The body is empty but the content type says JSON.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed-body', detail: 'The body is not valid JSON.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'malformed-body',
    detail: 'The Content-Length header does not match the body.',
  },
};

/** A client that sent thousands of bad fields learns of the first few; the answer stays small. */
export const MAX_LISTED_ERRORS = 20;

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
}

/**
 * The one place errors become responses: RFC 9457 problem+json with the
 * request id. Unknown errors are logged with their cause and answered with a
 * generic 500, so no stack, SQL or class name ever reaches a client.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(
    private readonly logger: AppLogger,
    /** False until the database has been reached once (the app may start before it). */
    private readonly databaseReady: () => boolean = () => true,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { problem, headers } = this.toProblem(exception, request);
    if (reply.sent) return;
    reply.status(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }

  private toProblem(
    exception: unknown,
    request: FastifyRequest,
  ): { problem: Problem; headers: Record<string, string> } {
    const base = { instance: request.url.split('?')[0], requestId: String(request.id) };

    if (exception instanceof AppError) {
      const errors = exception.errors;
      const capped = errors !== undefined && errors.length > MAX_LISTED_ERRORS;
      return {
        problem: problemBody(
          exception.status,
          exception.code,
          capped
            ? `${exception.message} (${errors.length} errors; the first ${MAX_LISTED_ERRORS} are listed)`
            : exception.message,
          base,
          capped ? errors.slice(0, MAX_LISTED_ERRORS) : errors,
        ),
        headers: exception.headers ?? {},
      };
    }

    // Nest's adapter wraps Fastify's client errors in an HttpException: the code is on its cause.
    const fastifyError = (exception instanceof HttpException ? exception.cause : exception) as FastifyLikeError;
    const known = fastifyError?.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
    if (known && fastifyError.statusCode) {
      const status = fastifyError.statusCode;
      const detail =
        fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `The request body is larger than the ${request.routeOptions.bodyLimit} bytes this route takes.`
          : known.detail;
      return { problem: problemBody(status, known.code, detail, base), headers: {} };
    }

    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return { problem: problemBody(status, undefined, httpExceptionDetail(exception), base), headers: {} };
    }

    if (isDatabaseUnavailable(exception) || (!this.databaseReady() && exception instanceof Error)) {
      return {
        problem: problemBody(
          503,
          'database-unavailable',
          'The database is unavailable right now; try again in a few seconds.',
          base,
        ),
        headers: { 'retry-after': '5' },
      };
    }

    this.logger.write('error', exception instanceof Error ? exception.message : 'non-error thrown', 'Unhandled', {
      error: exception instanceof Error ? exception.name : typeof exception,
      stack: exception instanceof Error ? exception.stack : undefined,
      // The headers help to reproduce it; credentials in them are redacted (see logger.ts).
      req: { method: request.method, path: base.instance, headers: request.headers },
    });
    return {
      problem: problemBody(
        500,
        'internal-error',
        'An unexpected error occurred. Quote the request id when you report it.',
        base,
      ),
      headers: {},
    };
  }
}

function httpExceptionDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}
