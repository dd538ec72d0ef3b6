import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppLogger } from '../common/logger.js';
import { Database } from '../database/database.js';
import { returningRows } from '../database/returning.js';
import { DocumentStorage } from './document-storage.js';
import type { StorageDriverName } from './storage-config.js';

const EVERY_MS = 60_000;
/** An object no row names is an orphan once it is this old (no upload takes a day). */
const ORPHAN_AGE_MS = 86_400_000;
const LEASE = 'storage-sweep';

export interface SweepResult {
  deleted: number;
  expiredUploads: number;
  orphans: number;
}

/**
 * Every minute: deletes the objects whose rows went (storage_deletions) and
 * the objects of direct uploads that expired uncompleted; hourly, objects no
 * row names that are older than a day (an upload whose row never committed,
 * a crash in between). One instance sweeps at a time (it takes the lease in
 * `job_leases`); the others skip the round.
 */
@Injectable()
export class StorageSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private lastOrphanSweep = 0;

  constructor(
    private readonly storage: DocumentStorage,
    private readonly dataSource: DataSource,
    private readonly database: Database,
    private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One round; undefined when another instance holds the sweep or the database is not ready. */
  async sweep(options: { orphansOlderThan?: Date } = {}): Promise<SweepResult | undefined> {
    if (!this.database.ready) return undefined;
    try {
      // A lease, not a lock held on a connection: the embedded database has only one.
      const taken = await this.dataSource.query(
        `INSERT INTO job_leases (name, until) VALUES ($1, now() + interval '15 minutes')
         ON CONFLICT (name) DO UPDATE SET until = EXCLUDED.until WHERE job_leases.until < now()
         RETURNING name`,
        [LEASE],
      );
      if (returningRows(taken).length === 0) return undefined;
      try {
        return await this.round(options);
      } finally {
        await this.dataSource.query('UPDATE job_leases SET until = now() WHERE name = $1', [LEASE]);
      }
    } catch (error) {
      this.logger.warn(`Storage sweep failed: ${(error as Error).message}`, 'Storage');
      return undefined;
    }
  }

  private async round(options: { orphansOlderThan?: Date }): Promise<SweepResult> {
    const deleted = await this.storage.drainDeletions();
    let expiredUploads = 0;
    for (;;) {
      const [expired] = await this.dataSource.query(
        `SELECT id, storage_key AS key FROM document_uploads WHERE expires_at < now() LIMIT 1`,
      );
      if (!expired) break;
      // A direct upload's object is only ever in object storage.
      if (this.storage.s3) await this.storage.s3.delete(expired.key);
      await this.dataSource.query('DELETE FROM document_uploads WHERE id = $1', [expired.id]);
      expiredUploads += 1;
    }
    let orphans = 0;
    if (options.orphansOlderThan || Date.now() - this.lastOrphanSweep >= 3_600_000) {
      this.lastOrphanSweep = Date.now();
      const before = options.orphansOlderThan ?? new Date(Date.now() - ORPHAN_AGE_MS);
      orphans += await this.sweepOrphans('postgres', before);
      if (this.storage.s3) orphans += await this.sweepOrphans('s3', before);
    }
    if (deleted + expiredUploads + orphans > 0) {
      this.logger.log(
        `Storage sweep: ${deleted} deleted, ${expiredUploads} expired upload(s), ${orphans} orphan(s)`,
        'Storage',
      );
    }
    return { deleted, expiredUploads, orphans };
  }

  private async sweepOrphans(driver: StorageDriverName, before: Date): Promise<number> {
    const store = this.storage.store(driver);
    let count = 0;
    for await (const keys of store.listCreatedBefore(before)) {
      const orphans: Array<{ key: string }> = await this.dataSource.query(
        `SELECT k AS key FROM unnest($1::uuid[]) AS k
          WHERE NOT EXISTS (SELECT 1 FROM document_versions v WHERE v.storage_key = k)
            AND NOT EXISTS (SELECT 1 FROM document_uploads u WHERE u.storage_key = k)`,
        [keys],
      );
      for (const { key } of orphans) {
        await store.delete(key);
        count += 1;
      }
    }
    return count;
  }
}
