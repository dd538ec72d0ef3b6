import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

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
  @ApiPropertyOptional({ type: [FieldErrorDto] }) errors?: FieldErrorDto[];
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (each invalid field is listed in `errors`)',
  401: 'Missing, invalid or expired access token, or wrong credentials',
  403: 'Not allowed for this account',
  404: 'Does not exist, or is not yours',
  409: 'Conflicts with the current state',
  412: 'The resource changed since you read it',
  413: 'Body too large',
  415: 'Unsupported content type',
  429: 'Too many requests (see Retry-After)',
  503: 'Busy or unavailable for now (see Retry-After)',
};

/** Documents the error responses of a route, all as problem+json. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/ProblemDto' } } },
      }),
    ),
  );
}
