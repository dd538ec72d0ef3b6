import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { RedisConnection } from '../redis/redis.connection.js';

export interface CacheState {
  status: 'ok' | 'degraded';
  cache: 'redis' | 'memory';
  connected: boolean;
}

/**
 * Redis is optional to serving: when it is configured but down, the service
 * bypasses the cache and counts limits in memory, so readiness reports it as
 * degraded (still 200), never down.
 */
@Injectable()
export class CacheHealthIndicator {
  constructor(
    private readonly redis: RedisConnection,
    private readonly indicators: HealthIndicatorService,
  ) {}

  state(): CacheState {
    if (!this.redis.configured) return { status: 'ok', cache: 'memory', connected: false };
    const connected = this.redis.ready;
    return { status: connected ? 'ok' : 'degraded', cache: 'redis', connected };
  }

  check() {
    const { status, ...details } = this.state();
    const session = this.indicators.check('cache');
    return status === 'ok' ? session.up(details) : session.degraded(details);
  }
}
