import { Writable, pipeline } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Principal } from '../common/principal.js';
import { AppError, NotFoundError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';
import { DocumentStorage } from '../storage/document-storage.js';
import { returningRows } from '../database/returning.js';
import { randomUUID } from 'node:crypto';
import { QuotaExceededError } from './documents.repository.js';
import { DocumentsService } from './documents.service.js';
import type { DocumentDto, UploadFieldsDto } from './dto/document.dto.js';
import type { CreateDirectUploadDto, DirectUploadDto } from './dto/storage.dto.js';
import { sanitizeFilename } from './filename.js';
import { UploadCheck } from './upload-check.js';
import { PayloadTooLargeError } from '../common/errors.js';

interface UploadRow {
  id: string;
  key: string;
  filename: string;
  mimeType: string;
  size: number;
  sha256: string | null;
  expired: boolean;
}

/**
 * Direct uploads (object storage only): the client PUTs the bytes to a
 * presigned URL, then completes; the server then checks what arrived (size,
 * content, sha256) by reading it back, before the document exists. The
 * declared size is reserved against the quota from the URL on.
 */
@Injectable()
export class DirectUploadsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly storage: DocumentStorage,
    private readonly config: AppConfig,
    private readonly documents: DocumentsService,
  ) {}

  private s3() {
    if (this.storage.driver !== 's3' || !this.storage.s3) {
      throw new AppError(
        409,
        'direct-uploads-unavailable',
        'Direct uploads need object storage (STORAGE_DRIVER=s3); upload with POST /documents instead.',
      );
    }
    return this.storage.s3;
  }

  async start(principal: Principal, dto: CreateDirectUploadDto): Promise<DirectUploadDto> {
    const s3 = this.s3();
    if (dto.size > this.config.uploadMaxBytes) {
      throw new PayloadTooLargeError(`The file is larger than the ${this.config.uploadMaxBytes}-byte limit.`);
    }
    const ttl = this.config.storage.directUploadTtlSeconds;
    const key = randomUUID();
    const row = await this.dataSource
      .transaction(async (manager) => {
        await manager.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [principal.userId]);
        const used = await this.documents.usedBytesIn(manager, principal.userId);
        if (used + dto.size > this.config.userQuotaBytes)
          throw new QuotaExceededError(used, this.config.userQuotaBytes);
        const [inserted] = await manager.query(
          `INSERT INTO document_uploads (owner_id, storage_key, filename, mime_type, size, sha256, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
           RETURNING id, expires_at AS "expiresAt"`,
          [principal.userId, key, dto.filename, dto.mimeType, dto.size, dto.sha256?.toLowerCase() ?? null, ttl],
        );
        return inserted as { id: string; expiresAt: Date };
      })
      .catch((error) => {
        if (error instanceof QuotaExceededError) throw this.documents.quotaErrorFor(error.used);
        throw error;
      });
    const put = await s3.presignPut(key, ttl, dto.mimeType);
    return { uploadId: row.id, url: put.url, method: 'PUT', headers: put.headers, expiresAt: row.expiresAt };
  }

  async complete(principal: Principal, uploadId: string, fields: UploadFieldsDto): Promise<DocumentDto> {
    const s3 = this.s3();
    const [upload]: UploadRow[] = await this.dataSource.query(
      `SELECT id, storage_key AS key, filename, mime_type AS "mimeType", size::float8 AS size, sha256,
              expires_at < now() AS expired
         FROM document_uploads WHERE id = $1 AND owner_id = $2`,
      [uploadId, principal.userId],
    );
    if (!upload) throw new NotFoundError('No such upload (completed, expired or never started).');
    const object = { driver: 's3' as const, key: upload.key };
    const abandon = async () => {
      await s3.delete(upload.key).catch(() => undefined);
      await this.dataSource.query('DELETE FROM document_uploads WHERE id = $1', [upload.id]);
    };
    if (upload.expired) {
      await abandon();
      throw new AppError(410, 'upload-expired', 'This upload expired before it was completed; start a new one.');
    }
    const size = await s3.size(upload.key);
    if (size === null) {
      throw new AppError(
        409,
        'upload-missing',
        'Nothing has been uploaded to the URL yet: PUT the bytes there first, then complete.',
      );
    }
    if (size !== upload.size) {
      await abandon();
      throw new AppError(
        422,
        'upload-size-mismatch',
        `The uploaded object is ${size} bytes, not the ${upload.size} declared; the upload is discarded.`,
      );
    }
    // Read it back through the same checks as an upload through the API: content type and sha256.
    const check = new UploadCheck(upload.mimeType, upload.filename, this.config.uploadMaxBytes);
    try {
      await new Promise<void>((resolve, reject) => {
        void this.storage
          .read(object)
          .then(
            (stream) =>
              pipeline(stream, check, new Writable({ write: (_piece, _encoding, done) => done() }), (error) =>
                error ? reject(error) : resolve(),
              ),
            reject,
          );
      });
    } catch (error) {
      if (error instanceof AppError && error.status === 415) await abandon();
      throw error;
    }
    const checked = check.checked;
    if (upload.sha256 && checked.sha256 !== upload.sha256) {
      await abandon();
      throw new AppError(
        422,
        'upload-sha256-mismatch',
        'The uploaded bytes do not have the sha256 declared; the upload is discarded.',
      );
    }
    return this.documents.create(
      principal,
      { title: fields.title, tags: fields.tags },
      {
        object,
        filename: sanitizeFilename(upload.filename, checked.type),
        mimeType: checked.type,
        size: checked.size,
        sha256: checked.sha256,
        indexText: checked.text ? (checked.indexText ?? '') : null,
      },
      async (manager) => {
        // Under the owner's lock: the reservation ends as the document takes its place.
        const gone = returningRows(
          await manager.query('DELETE FROM document_uploads WHERE id = $1 RETURNING id', [upload.id]),
        );
        if (gone.length === 0) throw new NotFoundError('This upload was completed or expired meanwhile.');
      },
    );
  }
}
