import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { Database } from '../database/database.js';
import { AuditLog } from './audit-log.js';

const EVERY_MS = 3_600_000;

/** Deletes audit events past AUDIT_RETENTION_DAYS, hourly; one instance does it per round (see AuditLog.prune). */
@Injectable()
export class AuditPruner implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly audit: AuditLog,
    private readonly database: Database,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.prune(), EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async prune(): Promise<number | undefined> {
    if (!this.database.ready) return undefined;
    try {
      const deleted = await this.audit.prune(this.config.accounts.auditRetentionDays);
      if (deleted) this.logger.log(`Pruned ${deleted} audit event(s)`, 'Audit');
      return deleted;
    } catch (error) {
      this.logger.warn(`Audit pruning failed: ${(error as Error).message}`, 'Audit');
      return undefined;
    }
  }
}
