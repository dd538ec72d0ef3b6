import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/config.js';
import { Database } from '../database/database.js';

@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly database: Database,
    private readonly indicators: HealthIndicatorService,
    private readonly config: AppConfig,
  ) {}

  /** Up when `SELECT 1` answers within HEALTH_TIMEOUT_MS. */
  check() {
    return this.indicators
      .check('database')
      .attempt(async () => {
        if (!this.database.ready) throw new Error(`database ${this.database.state}`);
        await this.database.dataSource.query('SELECT 1');
      })
      .withTimeout(this.config.healthTimeoutMs);
  }
}
