import { Controller, Get, HttpStatus, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { packageInfo } from '../common/package-info.js';
import { Public } from '../common/public.decorator.js';
import { SkipThrottle } from '@nestjs/throttler';
import { CacheHealthIndicator } from './cache.health.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { livenessBody } from './liveness.js';
import { CacheHealthDto, DatabaseHealthDto, LivenessDto, ReadinessDto, RootDto } from './health.dto.js';

@ApiTags('Health')
@Public()
@SkipThrottle()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly databaseHealth: DatabaseHealthIndicator,
    private readonly cacheHealth: CacheHealthIndicator,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Service banner (legacy)' })
  @ApiOkResponse({ type: RootDto })
  root(): RootDto {
    return { status: 'alive', service: packageInfo.name, version: packageInfo.version, docs: '/docs' };
  }

  @Get('health')
  @ApiOperation({ summary: 'Liveness: the process answers. No dependency is probed.' })
  @ApiOkResponse({ type: LivenessDto })
  liveness(): LivenessDto {
    // Also answered by LivenessFastPath (see liveness.ts), with the same body and headers.
    return livenessBody();
  }

  @Get('health/database')
  @ApiOperation({ summary: 'Database connectivity (legacy shape)' })
  @ApiOkResponse({ type: DatabaseHealthDto })
  @ApiServiceUnavailableResponse({ type: DatabaseHealthDto, description: 'The database did not answer in time.' })
  async database(@Res({ passthrough: true }) reply: FastifyReply): Promise<DatabaseHealthDto> {
    const result = await this.databaseHealth.check();
    if (result.database.status === 'up') return { status: 'ok', database: 'connected' };
    reply.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'error', database: 'connection_failed' };
  }

  @Get('health/cache')
  @ApiOperation({ summary: 'Cache state: Redis (connected or not) or process memory' })
  @ApiOkResponse({ type: CacheHealthDto })
  cache(): CacheHealthDto {
    return this.cacheHealth.state();
  }

  @Get('health/ready')
  @ApiOperation({
    summary: 'Readiness: 200 when the database answers within the bound, else 503',
    description: 'The cache is reported too: Redis down is `degraded` (still 200), since the service keeps serving.',
  })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({ type: ReadinessDto })
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    try {
      return await this.health.check([() => this.databaseHealth.check(), () => this.cacheHealth.check()]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return error.getResponse();
    }
  }
}
