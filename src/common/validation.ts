import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { type FieldError, ValidationFailedError } from './problem.js';

/** Flattens class-validator's tree into one entry per failing field (`a.b[0].c`). */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  const flat: FieldError[] = [];
  for (const error of errors) {
    const field =
      parent === ''
        ? error.property
        : /^\d+$/.test(error.property)
          ? `${parent}[${error.property}]`
          : `${parent}.${error.property}`;
    for (const message of Object.values(error.constraints ?? {})) flat.push({ field, message });
    if (error.children?.length) flat.push(...flattenValidationErrors(error.children, field));
  }
  return flat;
}

const PIPE_OPTIONS = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors: ValidationError[]) => new ValidationFailedError(flattenValidationErrors(errors)),
};

/** Query strings whose validated DTO is kept, at most, and the longest one kept (as its JSON key). */
const KEPT_QUERIES = 500;
const KEPT_QUERY_LENGTH = 256;

/**
 * The validation pipe, remembering the DTOs of the query strings it has accepted. A
 * query DTO is a pure function of its query string (class-transformer's conversions and
 * class-validator's rules read nothing else), and most requests repeat a few of them
 * (`?limit=20`): plainToInstance and validate cost ~10% of an uncached read, measured.
 * A repeated query gets a fresh copy of the DTO it gave before; a refused one is
 * checked again each time (its 400 is built as always); bodies and parameters are
 * validated every time.
 */
export class ValidationPipeWithQueries extends ValidationPipe {
  private readonly queries = new Map<string, { metatype: unknown; dto: object }>();

  constructor() {
    super(PIPE_OPTIONS);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const key = metadata.type === 'query' && metadata.metatype ? queryKey(metadata, value) : undefined;
    if (key === undefined) return super.transform(value, metadata);
    const kept = this.queries.get(key);
    if (kept && kept.metatype === metadata.metatype) return copyOf(kept.dto);
    const dto: unknown = await super.transform(value, metadata);
    if (dto !== null && typeof dto === 'object' && Object.values(dto).every(isPlainValue)) {
      if (this.queries.size >= KEPT_QUERIES) this.queries.delete(this.queries.keys().next().value!);
      this.queries.set(key, { metatype: metadata.metatype, dto: copyOf(dto) });
    }
    return dto;
  }
}

/** The key of a query object of strings (and arrays of strings), or undefined for anything else. */
function queryKey(metadata: ArgumentMetadata, value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const values = Object.values(value);
  if (!values.every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')))) {
    return undefined;
  }
  const key = `${metadata.metatype!.name}:${metadata.data ?? ''}:${JSON.stringify(value)}`;
  return key.length <= KEPT_QUERY_LENGTH ? key : undefined;
}

/** What a kept DTO may hold: values a shallow copy does not share (arrays are copied too). */
function isPlainValue(value: unknown): boolean {
  return value === undefined || value === null || typeof value !== 'object' || Array.isArray(value);
}

function copyOf<T extends object>(dto: T): T {
  const copy = Object.create(Object.getPrototypeOf(dto) as object) as T;
  for (const [k, v] of Object.entries(dto)) (copy as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
  return copy;
}

/** Unknown fields are refused, types are checked, values never echoed back. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe(PIPE_OPTIONS);
}

/** Validates a value against a DTO class outside parameter binding (e.g. multipart fields). */
export async function validateAs<T extends object>(metatype: new () => T, value: unknown): Promise<T> {
  return (await createValidationPipe().transform(value, { type: 'body', metatype })) as T;
}
