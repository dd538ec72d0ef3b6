import { type DynamicModule, Global, Module, type Type } from '@nestjs/common';
import { AccountsModule } from './accounts/accounts.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CacheModule } from './cache/cache.module.js';
import { AppLogger } from './common/logger.js';
import { AppConfig } from './config/config.js';
import { DatabaseModule } from './database/database.module.js';
import { DocumentsModule } from './documents/documents.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { MailModule } from './mail/mail.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RedisModule } from './redis/redis.module.js';
import { SharingModule } from './sharing/sharing.module.js';
import { UsersModule } from './users/users.module.js';

@Global()
@Module({})
class CoreModule {
  static forRoot(config: AppConfig, logger: AppLogger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: AppLogger, useValue: logger },
      ],
      exports: [AppConfig, AppLogger],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: AppLogger, extraModules: Array<Type | DynamicModule> = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, logger),
        DatabaseModule,
        LifecycleModule,
        MetricsModule,
        RedisModule,
        RateLimitModule,
        CacheModule,
        HealthModule,
        AuthModule,
        UsersModule,
        EventsModule,
        DocumentsModule,
        SharingModule,
        MailModule,
        AuditModule,
        AccountsModule,
        ...extraModules,
      ],
    };
  }
}
