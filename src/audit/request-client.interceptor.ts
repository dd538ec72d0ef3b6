import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { setRequestClient } from '../common/request-context.js';

/** Puts the client's IP and user agent in the request context, for the audit events the request writes. */
@Injectable()
export class RequestClientInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      const userAgent = request.headers['user-agent'];
      setRequestClient({
        ip: request.ip ? request.ip.slice(0, 64) : null,
        userAgent: typeof userAgent === 'string' && userAgent !== '' ? userAgent.slice(0, 512) : null,
      });
    }
    return next.handle();
  }
}
