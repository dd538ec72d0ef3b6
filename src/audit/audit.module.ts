import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditController } from './audit.controller.js';
import { AuditLog } from './audit-log.js';
import { AuditPruner } from './audit-pruner.js';
import { AuditService } from './audit.service.js';
import { RequestClientInterceptor } from './request-client.interceptor.js';

/** The audit log: any module records events through AuditLog; users and admins read them here. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditService, AuditPruner, { provide: APP_INTERCEPTOR, useClass: RequestClientInterceptor }],
  exports: [AuditLog, AuditPruner],
})
export class AuditModule {}
