import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CacheGenerations } from '../cache/cache-generations.js';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { Database } from '../database/database.js';
import { DocumentsRepository } from './documents.repository.js';

const EVERY_MS = 3_600_000;

/**
 * Deletes documents trashed more than TRASH_RETENTION_DAYS ago, hourly; one
 * instance does it per round (see DocumentsRepository.purgeTrash).
 */
@Injectable()
export class TrashPurger implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly documents: DocumentsRepository,
    private readonly cache: CacheGenerations,
    private readonly database: Database,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.purge(), EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One round; returns how many documents went, or undefined when skipped or failed. */
  async purge(): Promise<number | undefined> {
    if (!this.database.ready) return undefined;
    try {
      const owners = await this.documents.purgeTrash(this.config.documents.trashRetentionDays);
      if (!owners) return undefined;
      let purged = 0;
      for (const { ownerId, count } of owners) {
        await this.cache.bump(ownerId);
        purged += count;
      }
      if (purged) this.logger.log(`Purged ${purged} document(s) from the trash`, 'Documents');
      return purged;
    } catch (error) {
      this.logger.warn(`Trash purge failed: ${(error as Error).message}`, 'Documents');
      return undefined;
    }
  }
}
