import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE, problemBody, statusTitle } from './problem.js';

class FieldErrorDto {
  @ApiProperty({ example: 'email' }) field: string;
  @ApiProperty({ example: 'email must be an email' }) message: string;
}

/** RFC 9457 problem details, the body of every error. */
export class ProblemDto {
  @ApiProperty({ example: 'urn:ultrai:problem:validation-failed' }) type: string;
  @ApiProperty({ example: 'Bad Request' }) title: string;
  @ApiProperty({ example: 400 }) status: number;
  @ApiProperty({ example: 'The request is not valid.' }) detail: string;
  @ApiProperty({ example: '/auth/register' }) instance: string;
  @ApiProperty({ example: '0b6c6c1e-3f5e-4d0e-9d6f-6f2b9c1b1a11' }) requestId: string;
  @ApiPropertyOptional({
    description: 'OpenTelemetry trace id of the request; present when tracing is on',
    example: '4bf92f3577b34da6a3ce929d0e0e4736',
  })
  traceId?: string;
  @ApiPropertyOptional({ type: [FieldErrorDto] }) errors?: FieldErrorDto[];
}

/** What each status means here, and an answer of that status as the service gives it. */
const PROBLEMS: Record<number, { description: string; code: string; detail: string; errors?: FieldErrorDto[] }> = {
  400: {
    description: 'Invalid input (each invalid field is listed in `errors`)',
    code: 'validation-failed',
    detail: 'The request is not valid.',
    errors: [{ field: 'email', message: 'email must be an email' }],
  },
  401: {
    description: 'Missing, invalid or expired access token, or wrong credentials',
    code: 'unauthorized',
    detail: 'A valid access token is required.',
  },
  403: {
    description: 'Not allowed for this account',
    code: 'forbidden',
    detail: 'This route is for administrators.',
  },
  404: { description: 'Does not exist, or is not yours', code: 'not-found', detail: 'No such document.' },
  409: {
    description: 'Conflicts with the current state: the email or username is taken',
    code: 'username-taken',
    detail: 'This username is taken (usernames are compared ignoring case). Choose another.',
  },
  410: {
    description: 'Gone: it expired',
    code: 'upload-expired',
    detail: 'This upload expired before it was completed; start a new one.',
  },
  412: {
    description: 'The resource changed since you read it',
    code: 'precondition-failed',
    detail: 'The document changed since that version: read it again.',
  },
  413: {
    description: 'Body too large',
    code: 'payload-too-large',
    detail: 'The file is larger than the limit of 10485760 bytes.',
  },
  415: {
    description: 'Unsupported content type',
    code: 'unsupported-media-type',
    detail: 'Send the body as JSON with the header Content-Type: application/json (this body was sent as text/plain).',
  },
  416: {
    description: 'The range is outside the content (Content-Range: bytes */size)',
    code: 'range-not-satisfiable',
    detail: 'The range is outside the content, which is 48213 bytes long.',
  },
  422: {
    description: 'What was uploaded is not what was declared (size or sha256)',
    code: 'upload-size-mismatch',
    detail: 'The uploaded object is 48000 bytes, not the 48213 declared; the upload is discarded.',
  },
  429: {
    description: 'Too many requests (see Retry-After)',
    code: 'rate-limited',
    detail: 'Too many requests: wait for Retry-After seconds, then try again.',
  },
  503: {
    description:
      'Busy or unavailable for now: the database cannot be reached, this instance is shutting down or at its download limit (see Retry-After)',
    code: 'database-unavailable',
    detail: 'The database is unavailable right now; try again in a few seconds.',
  },
};

/** The problem+json content of a response of this status, its example naming `instance`. */
export function problemContent(status: number, instance: string) {
  const problem = PROBLEMS[status];
  return {
    [PROBLEM_CONTENT_TYPE]: {
      schema: { $ref: '#/components/schemas/ProblemDto' },
      example: problemBody(
        status,
        problem?.code,
        problem?.detail ?? statusTitle(status),
        { instance, requestId: '0b6c6c1e-3f5e-4d0e-9d6f-6f2b9c1b1a11' },
        problem?.errors,
      ),
    },
  };
}

export function problemDescription(status: number): string {
  return PROBLEMS[status]?.description ?? 'Error';
}

/**
 * Documents the error responses of a route, all as problem+json. The examples'
 * `instance` is filled in per path by setupSwagger, which also adds the 415,
 * 429 and 503 that every route reading a body, or every limited route, can give.
 */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: problemDescription(status), content: problemContent(status, '/') }),
    ),
  );
}
