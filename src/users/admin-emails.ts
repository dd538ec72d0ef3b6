import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { Database } from '../database/database.js';
import { UsersRepository } from './users.repository.js';

/**
 * ADMIN_EMAILS at start: existing accounts with these emails become administrators
 * (registration does the same for new ones). It is how the first administrator is
 * made where there is no shell to run `users:promote`, as on Render's free plan.
 */
@Injectable()
export class AdminEmails implements OnApplicationBootstrap {
  constructor(
    private readonly config: AppConfig,
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly logger: AppLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.adminEmails.length === 0) return;
    await this.database.whenReady(async () => {
      const promoted = await this.users.promoteEmails(this.config.adminEmails);
      if (promoted.length > 0) {
        this.logger.log(`ADMIN_EMAILS: made ${promoted.join(', ')} administrator`, 'Users');
      }
    });
  }
}
