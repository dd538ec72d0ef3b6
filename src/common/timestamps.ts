import { ApiProperty } from '@nestjs/swagger';

/**
 * A timestamp in an answer: its ISO 8601 text, what JSON.stringify writes for a Date.
 * Answers built of strings, numbers and plain objects stay on V8's fast path of
 * JSON.stringify; one Date in them (a toJSON method) sends the whole body down the slow
 * path, several times the cost (measured: 140 µs against 15 µs for a page of 20 documents).
 */
export function timestamp(date: Date): string {
  return date.toISOString();
}

/** The OpenAPI of a `timestamp()` field: the same `string` / `date-time` as a Date property. */
export const ApiTimestamp = (options: { description?: string } = {}): PropertyDecorator =>
  ApiProperty({ type: String, format: 'date-time', ...options });
