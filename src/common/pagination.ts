import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ValidationFailedError } from './problem.js';

export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({ description: 'Opaque cursor from the previous page (`nextCursor`).' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

export class PageDto<T> {
  items: T[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last.' })
  nextCursor: string | null;
}

/** A keyset position: the sort key values of the last item of a page. */
export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/**
 * Decodes a cursor made by `encodeCursor`, checking it has the expected
 * shape (one validator per position); anything else is a 400.
 */
export function decodeCursor(cursor: string, validators: Array<(value: unknown) => boolean>): unknown[] {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = undefined;
  }
  if (!Array.isArray(values) || values.length !== validators.length || !validators.every((ok, i) => ok(values[i]))) {
    throw new ValidationFailedError([{ field: 'cursor', message: 'cursor is not one this API returned' }]);
  }
  return values;
}

/**
 * Exactly what `Date.prototype.toISOString` writes for a year PostgreSQL takes:
 * the round trip refuses what Date would roll over (February 30, hour 24) and
 * PostgreSQL would refuse with an error (year 0000).
 */
export const isIsoDate = (value: unknown): value is string => {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) return false;
  const date = new Date(value);
  return !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1 && date.toISOString() === value;
};

/** Text PostgreSQL can compare: no NUL, no lone surrogate. */
export const isCursorText = (value: unknown): value is string =>
  typeof value === 'string' && !value.includes('\u0000') && value.isWellFormed();

const REAL_MAX = 3.4028234663852886e38;
const REAL_MIN_NORMAL = 1.1754943508222875e-38;

/** A search rank (`ts_rank`, a PostgreSQL real, never negative) that a real can hold. */
export const isRank = (value: unknown): value is number =>
  typeof value === 'number' && (value === 0 || (value >= REAL_MIN_NORMAL && value <= REAL_MAX));

/** Takes `limit + 1` rows: returns a page of `limit` and the cursor for the next, if any. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
  cursorOf: (row: R) => readonly (string | number)[],
): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { items: page.map(map), nextCursor: more ? encodeCursor(cursorOf(page[page.length - 1])) : null };
}
