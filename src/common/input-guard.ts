import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EdgeStep } from '../edge/edge-step.js';
import { AppError, type FieldError, problemBody } from './problem.js';

/** Deeper than any body of this API; deep enough nesting overflows the validators' recursion. */
export const MAX_JSON_DEPTH = 32;
/**
 * Far more than any body of this API has. class-transformer (the validation
 * pipe's `transform`) removes duplicate keys in time quadratic in the keys of
 * one object: bounding the keys per object and the values per body keeps
 * every validation step linear in the body.
 */
export const MAX_JSON_KEYS = 100;
export const MAX_JSON_VALUES = 10_000;

export class MalformedBodyError extends AppError {
  constructor(detail: string, errors?: FieldError[]) {
    super(400, 'malformed-body', detail, errors);
  }
}

/**
 * What PostgreSQL cannot store (NUL) or what breaks string handling further
 * on (a lone UTF-16 surrogate, as `\ud800` can write in JSON) is refused at
 * the edge with a 400 naming where it was, instead of failing deep inside.
 */
function badString(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)';
  return undefined;
}

/**
 * Walks a parsed JSON value without recursion: refuses nesting deeper than
 * MAX_JSON_DEPTH, objects of more than MAX_JSON_KEYS keys, more than
 * MAX_JSON_VALUES values in all, prototype-polluting keys, and bad strings.
 */
export function checkJson(root: unknown): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '', depth: 0 }];
  let values = 0;
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (++values > MAX_JSON_VALUES) {
      throw new MalformedBodyError(`The JSON body has more than ${MAX_JSON_VALUES} values.`);
    }
    if (typeof value === 'string') {
      const problem = badString(value);
      if (problem)
        throw new MalformedBodyError(`A string in the body ${problem}.`, [
          { field: path || '(body)', message: problem },
        ]);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new MalformedBodyError(`The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep.`);
    }
    if (!Array.isArray(value) && Object.keys(value).length > MAX_JSON_KEYS) {
      throw new MalformedBodyError(`An object in the JSON body has more than ${MAX_JSON_KEYS} keys.`, [
        { field: path || '(body)', message: `more than ${MAX_JSON_KEYS} keys` },
      ]);
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        throw new MalformedBodyError(`The key "${key}" is not allowed.`, [{ field: key, message: 'reserved key' }]);
      }
      const keyProblem = badString(key);
      if (keyProblem) throw new MalformedBodyError(`A key in the body ${keyProblem}.`);
      const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
}

/** The edge step installing `guardInput` with the JSON body limit. */
export function jsonGuard(bodyLimit: number): EdgeStep {
  return { name: 'JSON guard', register: ({ fastify }) => guardInput(fastify, bodyLimit) };
}

/**
 * Replaces Fastify's JSON parser with one that also runs `checkJson`, checks
 * query strings, and gives the routes of a `@SmallBody()` controller their limit.
 */
export function guardInput(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.addHook('onRoute', (route) => {
    const limit = (route.config as { bodyLimit?: number } | undefined)?.bodyLimit;
    if (limit !== undefined) route.bodyLimit = limit;
  });
  fastify.removeContentTypeParser(['application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    const text = body as string;
    if (isRawUploadRoute(request)) {
      // A file sent as the raw body: its bytes, not a parsed value (bound by the JSON body limit).
      done(null, Readable.from([Buffer.from(text, 'utf8')], { objectMode: false }));
      return;
    }
    if (text.trim() === '') {
      done(new MalformedBodyError('The body is empty but the content type says JSON.'), undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      done(new MalformedBodyError('The body is not valid JSON.'), undefined);
      return;
    }
    try {
      checkJson(parsed);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    done(null, parsed);
  });

  // Any other body type (text/plain, a form, none declared) is refused with the
  // fix, instead of reaching the validators as a string or as nothing at all.
  fastify.removeContentTypeParser(['text/plain']);
  fastify.addContentTypeParser('*', (request, payload, done) => {
    if (isRawUploadRoute(request)) {
      // A file sent as the raw body: the route reads the stream itself (and bounds it).
      done(null, payload);
      return;
    }
    if (request.headers['content-length'] === '0') {
      done(null, undefined);
      return;
    }
    const declared = request.headers['content-type'];
    const upload = request.method === 'POST' && request.routeOptions.url === '/documents';
    done(
      new AppError(
        415,
        'unsupported-media-type',
        `Send the body as JSON with the header Content-Type: application/json` +
          `${upload ? ', or a file as multipart/form-data' : ''}` +
          ` (this body was sent ${declared ? `as ${declared.split(';')[0].trim()}` : 'without a Content-Type'}).`,
      ),
      undefined,
    );
  });

  fastify.addHook('preValidation', (request, _reply, done) => {
    for (const [name, raw] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      for (const value of Array.isArray(raw) ? raw : [raw]) {
        const problem = typeof value === 'string' ? badString(value) : undefined;
        if (problem) {
          done(new MalformedBodyError(`The query parameter ${name} ${problem}.`, [{ field: name, message: problem }]));
          return;
        }
      }
    }
    done();
  });
}

/** Fastify's own answers to requests it cannot route or parse, as problem+json. */
export function frameworkProblem(status: number, detail: string, instance: string, requestId: string): string {
  const code = status === 414 ? 'uri-too-long' : status === 408 ? 'request-timeout' : 'malformed-request';
  return JSON.stringify(problemBody(status, code, detail, { instance, requestId }));
}

/** Marks a handler whose body, whatever its type, is a file read as a stream (see isRawUploadRoute). */
export const RAW_UPLOAD_CONFIG = { rawUpload: true };

function isRawUploadRoute(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { rawUpload?: boolean } | undefined)?.rawUpload === true;
}
