import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller.js';
import { AuditLog } from './audit-log.js';
import { AuditPruner } from './audit-pruner.js';
import { AuditService } from './audit.service.js';

/**
 * The audit log: any module records events through AuditLog; users and admins read them here.
 * A record names the client of the request it is written in (src/common/request-context.ts).
 */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditService, AuditPruner],
  exports: [AuditLog, AuditPruner],
})
export class AuditModule {}
