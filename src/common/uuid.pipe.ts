import { type PipeTransform } from '@nestjs/common';
import { isUuid } from './ids.js';
import { ValidationFailedError } from './problem.js';

/** `:id` path parameters: a malformed id is a 400 (a missing one is a 404 later). */
export class UuidPipe implements PipeTransform<string, string> {
  constructor(private readonly field = 'id') {}

  transform(value: string): string {
    if (!isUuid(value))
      throw new ValidationFailedError([{ field: this.field, message: `${this.field} must be a UUID` }]);
    return value.toLowerCase();
  }
}
