import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config.js';
import { AppError } from '../common/problem.js';
import type { ByteRange, ObjectStore } from './object-store.js';
import { PostgresStore } from './postgres-store.js';
import type { S3Store } from './s3-store.js';
import type { S3Settings, StorageDriverName } from './storage-config.js';

/** Where one object is: the driver that holds it and its key there. */
export interface StoredObject {
  driver: StorageDriverName;
  key: string;
}

/**
 * The one way to document bytes, for every module (downloads, versions, PDF
 * text, shared links): `write` a stream as a new object with the configured
 * driver, `read` an object (or a range of it) as a stream, `delete` it. Each
 * object names its driver, so documents written before a driver change stay
 * readable until `storage:migrate` has moved them.
 */
@Injectable()
export class DocumentStorage {
  readonly postgres: PostgresStore;
  /** Set when S3_BUCKET is. */
  readonly s3: S3Store | undefined;
  readonly driver: StorageDriverName;

  constructor(
    private readonly dataSource: DataSource,
    config: AppConfig,
    s3?: S3Store,
  ) {
    // Half the pool for chunk statements (at least one): the other half stays for other requests.
    this.postgres = new PostgresStore(
      dataSource,
      config.embeddedDatabase ? 1 : Math.max(1, Math.floor(config.databasePoolMax / 2)),
    );
    this.s3 = s3;
    this.driver = config.storage.driver;
  }

  /**
   * Builds one (the Nest provider's factory, and the CLI). The S3 store, and with it the
   * AWS SDK, is loaded only when S3_BUCKET is set: without it, none of the SDK is
   * evaluated or kept in memory (README, Performance).
   */
  static async create(dataSource: DataSource, config: AppConfig): Promise<DocumentStorage> {
    const s3 = config.storage.s3 ? await openS3Store(config.storage.s3) : undefined;
    return new DocumentStorage(dataSource, config, s3);
  }

  store(driver: StorageDriverName): ObjectStore {
    if (driver === 'postgres') return this.postgres;
    if (!this.s3) {
      throw new AppError(503, 'storage-unavailable', 'This document is in object storage, which is not configured.');
    }
    return this.s3;
  }

  /** Writes `source` as a new object with the configured driver (`driver` overrides it). */
  async write(source: Readable, driver: StorageDriverName = this.driver): Promise<StoredObject & { size: number }> {
    const key = randomUUID();
    const size = await this.store(driver).write(key, source);
    return { driver, key, size };
  }

  read(object: StoredObject, range?: ByteRange): Promise<Readable> {
    return this.store(object.driver).read(object.key, range);
  }

  delete(object: StoredObject): Promise<void> {
    return this.store(object.driver).delete(object.key);
  }

  /** Copies an object to a new one with the same driver. */
  async copy(object: StoredObject): Promise<StoredObject> {
    const key = randomUUID();
    await this.store(object.driver).copy(object.key, key);
    return { driver: object.driver, key };
  }

  /**
   * Deletes the objects whose version rows went (queued by the database in
   * `storage_deletions`, see the storage migration). Idempotent: two
   * instances draining at once delete an object twice, harmlessly. Returns
   * how many were deleted; failures stay queued for the next round.
   */
  async drainDeletions(): Promise<number> {
    let deleted = 0;
    try {
      for (;;) {
        const rows: Array<{ key: string; driver: StorageDriverName }> = await this.dataSource.query(
          `SELECT storage_key AS key, storage_driver AS driver FROM storage_deletions ORDER BY created_at LIMIT 100`,
        );
        if (rows.length === 0) return deleted;
        for (const row of rows) {
          await this.delete(row);
          await this.dataSource.query('DELETE FROM storage_deletions WHERE storage_key = $1', [row.key]);
          deleted += 1;
        }
      }
    } catch {
      return deleted;
    }
  }

  /** Reads the first `maxBytes` of an object into memory (small reads: a type check, text to index). */
  async readStart(object: StoredObject, size: number, maxBytes: number): Promise<Buffer> {
    if (size === 0) return Buffer.alloc(0);
    const stream = await this.read(object, { start: 0, end: Math.min(size, maxBytes) - 1 });
    const pieces: Buffer[] = [];
    for await (const piece of stream as AsyncIterable<Buffer>) pieces.push(piece);
    return Buffer.concat(pieces);
  }
}

async function openS3Store(settings: S3Settings): Promise<S3Store> {
  const { S3Store } = await import('./s3-store.js');
  return new S3Store(settings);
}
