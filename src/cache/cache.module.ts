import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/config.js';
import { RedisConnection } from '../redis/redis.connection.js';
import { RedisModule } from '../redis/redis.module.js';
import { CacheGenerations } from './cache-generations.js';
import { createResponseStore, ResponseCache } from './response-cache.js';

/** Response cache and its per-user generations, on Redis when REDIS_URL is set, else in process memory. */
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
  ],
  providers: [ResponseCache, CacheGenerations],
  exports: [ResponseCache, CacheGenerations],
})
export class CacheModule {}
