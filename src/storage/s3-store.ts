import { PassThrough, pipeline, type Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type ByteRange, isStorageKey, type ObjectStore, StorageUnavailableError } from './object-store.js';
import type { S3Settings } from './storage-config.js';

/** Objects live under this prefix, named by their storage key (a UUID). */
const PREFIX = 'documents/';
/** The smallest part S3 takes; with one part in flight an upload holds about two of these. */
const PART_BYTES = 5 * 1024 * 1024;

/** What a client sends to PUT a presigned direct upload. */
export interface PresignedPut {
  url: string;
  headers: Record<string, string>;
}

/**
 * Objects in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Backblaze B2…)
 * through the AWS SDK v3. Checksums are computed and validated only when an
 * operation requires them, which is what servers other than AWS's understand.
 */
export class S3Store implements ObjectStore {
  readonly name = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;

  constructor(settings: S3Settings) {
    this.bucket = settings.bucket;
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials:
        settings.accessKeyId && settings.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
          : undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 3000, requestTimeout: 60_000 },
    });
  }

  objectKey(key: string): string {
    return `${PREFIX}${key}`;
  }

  async write(key: string, source: Readable): Promise<number> {
    let size = 0;
    let sourceError: unknown;
    // Counted on the way (a 'data' listener on the source would set it flowing past the uploader).
    const counted = new PassThrough({
      transform(piece: Buffer, _encoding, done) {
        size += piece.length;
        done(null, piece);
      },
    });
    pipeline(source, counted, (error) => {
      if (error) sourceError = error;
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: counted },
      queueSize: 1,
      partSize: PART_BYTES,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
      if (sourceError) throw sourceError;
      return size;
    } catch (error) {
      counted.destroy();
      source.destroy();
      // A multipart upload aborts itself; a single PUT may have completed before the source failed.
      await this.delete(key).catch(() => undefined);
      if (sourceError) throw sourceError;
      throw unavailable(error);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const answer = await call(() =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      ),
    );
    return answer.Body as Readable;
  }

  async copy(from: string, to: string): Promise<void> {
    await call(() =>
      this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(to),
          CopySource: `${this.bucket}/${this.objectKey(from)}`,
        }),
      ),
    );
  }

  async delete(key: string): Promise<void> {
    await call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) })));
  }

  /** The object's size, or null when there is none. */
  async size(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return head.ContentLength ?? 0;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (error as Error).name === 'NotFound') return null;
      throw unavailable(error);
    }
  }

  async *listCreatedBefore(before: Date): AsyncIterable<string[]> {
    let token: string | undefined;
    do {
      const page = await call(() =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: PREFIX, ContinuationToken: token, MaxKeys: 500 }),
        ),
      );
      const keys = (page.Contents ?? [])
        .filter((object) => object.Key && object.LastModified && object.LastModified < before)
        .map((object) => object.Key!.slice(PREFIX.length))
        .filter(isStorageKey);
      if (keys.length > 0) yield keys;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** A URL that GETs the object for `ttlSeconds`, answering with these headers. */
  presignGet(key: string, ttlSeconds: number, contentType: string, contentDisposition: string): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        ResponseContentType: contentType,
        ResponseContentDisposition: contentDisposition,
      }),
      { expiresIn: ttlSeconds },
    );
  }

  /** A URL that PUTs the object for `ttlSeconds`; the client must send `headers` with it. */
  async presignPut(key: string, ttlSeconds: number, contentType: string): Promise<PresignedPut> {
    const url = await getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), ContentType: contentType }),
      { expiresIn: ttlSeconds, signableHeaders: new Set(['content-type']) },
    );
    return { url, headers: { 'content-type': contentType } };
  }
}

function unavailable(error: unknown): Error {
  if (error instanceof StorageUnavailableError) return error;
  return new StorageUnavailableError();
}

/** Runs an SDK call; failures to reach or use the bucket become 503 storage-unavailable. */
async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw unavailable(error);
  }
}
