import { applyDecorators, HttpStatus } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { ACCEPTED_TYPES } from './content-type.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { ContentAnswer, ContentRequest } from './documents.service.js';
import { contentTypeOf } from './documents.service.js';
import { downloadStream } from './download-stream.js';
import { contentDisposition } from './filename.js';

/** The conditions, range and redirect wish of a content request (an owner's download or a shared link's). */
export function contentRequest(request: FastifyRequest): ContentRequest {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  const redirect = (request.query as { redirect?: string } | undefined)?.redirect;
  return {
    ifNoneMatch: header('if-none-match'),
    range: header('range'),
    ifRange: header('if-range'),
    redirect: redirect === 'true' || redirect === '1' || /(^|,)\s*text\/uri-list\b/i.test(header('accept') ?? ''),
  };
}

/**
 * Writes a content answer's status and headers and returns its body: 304, 302
 * to a presigned URL, 200 or 206 with Content-Range. `cacheControl` is what
 * the bytes may be kept as (an owner's: private; a link's: not at all).
 */
export function sendContent(
  answer: ContentAnswer,
  reply: FastifyReply,
  options: { stallMs: number; cacheControl: string },
): Readable | undefined {
  reply
    .header('etag', `"${answer.sha256}"`)
    .header('cache-control', options.cacheControl)
    .header('x-content-type-options', 'nosniff');
  if (answer.kind === 'not-modified') {
    reply.status(HttpStatus.NOT_MODIFIED);
    return undefined;
  }
  if (answer.kind === 'redirect') {
    reply.status(HttpStatus.FOUND).header('location', answer.url).header('cache-control', 'no-store');
    return undefined;
  }
  reply
    .header('content-type', contentTypeOf(answer.mimeType))
    .header('accept-ranges', 'bytes')
    .header('content-disposition', contentDisposition(answer.filename));
  if (answer.range) {
    reply
      .status(HttpStatus.PARTIAL_CONTENT)
      .header('content-range', `bytes ${answer.range.start}-${answer.range.end}/${answer.size}`)
      .header('content-length', answer.range.end - answer.range.start + 1);
  } else {
    reply.header('content-length', answer.size);
  }
  return downloadStream(answer.stream, reply.raw, options.stallMs, answer.release);
}

/** What a content download takes and answers, for Swagger (current content, kept versions, shared links). */
export function ContentResponses(): MethodDecorator {
  return applyDecorators(
    ApiProduces(...ACCEPTED_TYPES),
    ApiHeader({ name: 'If-None-Match', required: false }),
    ApiHeader({ name: 'Range', required: false, description: 'bytes=first-last, bytes=first- or bytes=-suffix' }),
    ApiHeader({ name: 'If-Range', required: false, description: '"<sha256>" as the ETag' }),
    ApiQuery({ name: 'redirect', required: false, type: Boolean }),
    ApiOkResponse({ schema: { type: 'string', format: 'binary' } }),
    ApiResponse({ status: 206, description: 'Partial content (one range)' }),
    ApiResponse({ status: 302, description: 'Redirect to a presigned URL (object storage)' }),
    ApiResponse({ status: 304, description: 'Not modified' }),
    ApiProblems(400, 401, 404, 416, 429, 503),
  );
}
