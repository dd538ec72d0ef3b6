import { createHash } from 'node:crypto';
import { PassThrough, pipeline } from 'node:stream';
import type { DataSource } from 'typeorm';
import type { DocumentStorage } from './document-storage.js';
import type { StorageDriverName } from './storage-config.js';

export interface MigrationReport {
  moved: number;
  bytes: number;
  /** Versions whose bytes did not match their sha256 (left where they were). */
  mismatched: string[];
}

/**
 * Moves every document version's bytes to driver `to`, one version at a time:
 * copy (hashing on the way), compare with the recorded sha256, switch the row,
 * then delete the source. Interrupted, it resumes where it stopped: a row
 * names its old driver until its copy is verified, and a partial copy is
 * replaced on the next run.
 */
export async function migrateStorage(
  dataSource: DataSource,
  storage: DocumentStorage,
  to: StorageDriverName,
  progress: (line: string) => void = () => undefined,
): Promise<MigrationReport> {
  const target = storage.store(to);
  const report: MigrationReport = { moved: 0, bytes: 0, mismatched: [] };
  for (;;) {
    const [version]: Array<{ key: string; driver: StorageDriverName; sha256: string; size: number }> =
      await dataSource.query(
        `SELECT storage_key AS key, storage_driver AS driver, sha256, size::float8 AS size FROM document_versions
          WHERE storage_driver <> $1 AND NOT (storage_key = ANY($2::uuid[]))
          ORDER BY storage_key LIMIT 1`,
        [to, report.mismatched],
      );
    if (!version) return report;
    await target.delete(version.key); // a partial copy from an interrupted run
    const source = await storage.read(version);
    const hash = createHash('sha256');
    const tap = new PassThrough({
      transform(piece: Buffer, _encoding, done) {
        hash.update(piece);
        done(null, piece);
      },
    });
    pipeline(source, tap, () => undefined);
    await target.write(version.key, tap);
    if (hash.digest('hex') !== version.sha256.trim()) {
      await target.delete(version.key);
      report.mismatched.push(version.key);
      progress(`sha256 mismatch: version ${version.key} left on ${version.driver}`);
      continue;
    }
    const switched = await dataSource.query(
      `UPDATE document_versions SET storage_driver = $3 WHERE storage_key = $1 AND storage_driver = $2 RETURNING 1`,
      [version.key, version.driver, to],
    );
    if ((Array.isArray(switched[0]) ? switched[0] : switched).length === 0) {
      await target.delete(version.key); // deleted meanwhile
      continue;
    }
    await storage.store(version.driver).delete(version.key);
    report.moved += 1;
    report.bytes += version.size;
    if (report.moved % 100 === 0) progress(`${report.moved} version(s) moved`);
  }
}
