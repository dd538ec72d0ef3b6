import { Global, Module } from '@nestjs/common';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { RedisConnection } from './redis.connection.js';

const redisConnection = {
  provide: RedisConnection,
  inject: [AppConfig, AppLogger],
  useFactory: async (config: AppConfig, logger: AppLogger) => {
    const connection = new RedisConnection(config, logger);
    await connection.connect();
    return connection;
  },
};

/** The one Redis connection (or its absence when REDIS_URL is not set), shared by every store that uses it. */
@Global()
@Module({
  providers: [redisConnection],
  exports: [redisConnection],
})
export class RedisModule {}
