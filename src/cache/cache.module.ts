import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Principal } from '../auth/principal.js';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { CacheGenerations } from './cache-generations.js';
import { authLimitName, defaultLimitKey, trackerOf } from './rate-limit.guard.js';
import { RateLimitStorage } from './rate-limit.storage.js';
import { RedisConnection } from './redis.connection.js';
import { createResponseStore, ResponseCache } from './response-cache.js';

const redisConnection = {
  provide: RedisConnection,
  inject: [AppConfig, AppLogger],
  useFactory: async (config: AppConfig, logger: AppLogger) => {
    const connection = new RedisConnection(config, logger);
    await connection.connect();
    return connection;
  },
};

/** The shared Redis connection (or its absence) and what keeps state in it. */
@Global()
@Module({
  providers: [redisConnection, CacheGenerations, RateLimitStorage],
  exports: [redisConnection, CacheGenerations, RateLimitStorage],
})
class RedisModule {}

/** Response cache and rate limits, on Redis when REDIS_URL is set, else in process memory. */
@Global()
@Module({
  imports: [
    RedisModule,
    NestCacheModule.registerAsync({
      imports: [RedisModule],
      inject: [RedisConnection, AppConfig],
      useFactory: (redis: RedisConnection, config: AppConfig) => ({
        stores: [createResponseStore(redis, config)],
        ttl: config.cacheTtlMs,
      }),
    }),
    ThrottlerModule.forRootAsync({
      imports: [RedisModule],
      inject: [AppConfig, RateLimitStorage],
      useFactory: (config: AppConfig, storage: RateLimitStorage) => ({
        storage,
        throttlers: [
          {
            name: 'default',
            limit: config.rateLimitMax,
            ttl: config.rateLimitWindowMs,
            getTracker: (request) => trackerOf(request),
            generateKey: (_context, tracker) => defaultLimitKey(tracker),
          },
          {
            name: 'auth',
            limit: config.authRateLimitMax,
            ttl: config.authRateLimitWindowMs,
            skipIf: (context) => authLimitName(context) === undefined,
            getTracker: (request) => `ip:${request.ip ?? 'unknown'}`,
            generateKey: (context, tracker) => `auth:${authLimitName(context)}:${tracker}`,
          },
          {
            // The same limit per account, whatever the IP: one stolen token cannot guess on from many.
            name: 'auth-user',
            limit: config.authRateLimitMax,
            ttl: config.authRateLimitWindowMs,
            skipIf: (context) =>
              authLimitName(context) === undefined ||
              context.switchToHttp().getRequest<{ user?: Principal }>().user === undefined,
            getTracker: (request) => trackerOf(request),
            generateKey: (context, tracker) => `auth:${authLimitName(context)}:${tracker}`,
          },
        ],
      }),
    }),
  ],
  providers: [ResponseCache],
  exports: [ResponseCache],
})
export class CacheModule {}
