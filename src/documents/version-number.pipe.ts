import { type PipeTransform } from '@nestjs/common';
import { ValidationFailedError } from '../common/problem.js';

/** `:n` version numbers: a positive integer, else 400. */
export class VersionNumberPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9]\d{0,8}$/.test(value)) {
      throw new ValidationFailedError([{ field: 'n', message: 'n must be a version number (1, 2, …)' }]);
    }
    return Number(value);
  }
}
