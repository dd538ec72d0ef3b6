import { Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Principal } from '../common/principal.js';
import { AppConfig } from '../config/config.js';
import { RedisModule } from '../redis/redis.module.js';
import { authLimitName, defaultLimitKey, trackerOf } from './rate-limit.guard.js';
import { RateLimitStorage } from './rate-limit.storage.js';

/** The limit counters' storage (exported for the other limits: login slow-down, account recovery). */
@Global()
@Module({
  imports: [RedisModule],
  providers: [RateLimitStorage],
  exports: [RateLimitStorage],
})
class RateLimitStorageModule {}

/**
 * Rate limits (@nestjs/throttler), counted in Redis when REDIS_URL is set, else in
 * process memory. The guard itself (RateLimitGuard) is registered by AuthModule,
 * after the authentication guard, so that it counts per user when it can.
 */
@Global()
@Module({
  imports: [
    RateLimitStorageModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
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
  exports: [RateLimitStorageModule],
})
export class RateLimitModule {}
