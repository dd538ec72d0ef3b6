import { AppError } from './problem.js';

export class UnauthorizedError extends AppError {
  constructor(detail = 'A valid access token is required.') {
    super(401, 'unauthorized', detail, undefined, { 'www-authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = 'This account may not do that.') {
    super(403, 'forbidden', detail);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(detail: string) {
    // Connection: close, so the rest of a too-large body is never read.
    super(413, 'payload-too-large', detail, undefined, { connection: 'close' });
  }
}
