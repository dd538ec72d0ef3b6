import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../common/errors.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { NotFoundError } from '../common/problem.js';
import { Public } from '../common/public.decorator.js';
import { AppConfig } from '../config/config.js';
import { Metrics } from './metrics.service.js';

@ApiTags('Operations')
@Public()
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'When METRICS_TOKEN is set, send `Authorization: Bearer <METRICS_TOKEN>` (not a user token). ' +
      'In production without METRICS_TOKEN: 404.',
  })
  @ApiOkResponse({ content: { 'text/plain': { schema: { type: 'string' } } } })
  @ApiProblems(401, 404)
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    // Open in development; in production only with METRICS_TOKEN (said at start, see createApp).
    if (this.config.metricsToken === undefined && this.config.production) throw new NotFoundError();
    if (this.config.metricsToken !== undefined && !matches(authorization, `Bearer ${this.config.metricsToken}`)) {
      throw new UnauthorizedError('This route needs the metrics token.');
    }
    reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}

function matches(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
