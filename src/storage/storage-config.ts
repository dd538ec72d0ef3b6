import { flag, integer, oneOf, optionalText, url, type VariableTable, variable } from '../config/variables.js';

/** Where document bytes live, read with the rest of the configuration (see README "Storage"). */
export type StorageDriverName = 'postgres' | 's3';
export const STORAGE_DRIVERS: readonly StorageDriverName[] = ['postgres', 's3'];

export interface S3Settings {
  bucket: string;
  region: string;
  /** Unset: AWS's own endpoint for the region. */
  endpoint: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
}

export interface StorageConfig {
  driver: StorageDriverName;
  /** Set whenever S3_BUCKET is (also with the postgres driver, so `storage:migrate` can move bytes). */
  s3: S3Settings | undefined;
  /** Lifetime of a presigned download URL. */
  downloadUrlTtlSeconds: number;
  /** How long a direct upload may take between its URL and its completion. */
  directUploadTtlSeconds: number;
  /** Versions kept per document; the oldest beyond are deleted. */
  maxVersionsPerDocument: number;
}

export const GIB = 1024 * 1024 * 1024;
/** The largest object we write in one upload flow. */
export const S3_MAX_UPLOAD_BYTES = 5 * GIB;
/** What the postgres driver accepts per file: its chunks are rows in the main database. */
export const POSTGRES_MAX_UPLOAD_BYTES = GIB;

export interface StorageSettings {
  driver: StorageDriverName;
  bucket: string | undefined;
  region: string | undefined;
  endpoint: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
  downloadUrlTtlSeconds: number;
  directUploadTtlSeconds: number;
  maxVersionsPerDocument: number;
}

/** The storage module's variables, in README's order. */
export const STORAGE_VARIABLES: VariableTable<StorageSettings> = {
  driver: variable('STORAGE_DRIVER', oneOf(STORAGE_DRIVERS, 'postgres'), {
    default: '`postgres`',
    meaning:
      'where document bytes go: `postgres` (256 KiB chunk rows in the database) or `s3` (an S3-compatible bucket); see [Storage](#storage)',
  }),
  bucket: variable('S3_BUCKET', optionalText(), {
    default: 'unset',
    meaning: 'the bucket (required with `STORAGE_DRIVER=s3`; also read by `storage:migrate`)',
  }),
  region: variable('S3_REGION', optionalText(), {
    default: 'unset: `auto` with `S3_ENDPOINT`',
    meaning: "the bucket's region (`us-east-1`…; R2 takes `auto`); required for AWS without `S3_ENDPOINT`",
  }),
  endpoint: variable('S3_ENDPOINT', url(['http:', 'https:']), {
    default: 'unset: AWS',
    meaning: 'endpoint of a non-AWS service, e.g. `https://<account>.r2.cloudflarestorage.com`, `http://minio:9000`',
  }),
  accessKeyId: variable('S3_ACCESS_KEY_ID', optionalText(), {
    default: "unset: the SDK's default chain",
    meaning: 'access key; set together with `S3_SECRET_ACCESS_KEY`',
  }),
  secretAccessKey: variable('S3_SECRET_ACCESS_KEY', optionalText(), {
    default: 'unset',
    meaning: 'secret key (never logged)',
  }),
  forcePathStyle: variable('S3_FORCE_PATH_STYLE', flag(false), {
    default: '`false`',
    meaning: '`true` for services without virtual-host buckets (MinIO, most self-hosted)',
  }),
  downloadUrlTtlSeconds: variable('DOWNLOAD_URL_TTL_SECONDS', integer(300, 1, 7 * 86_400), {
    default: '`300`',
    meaning: 'life of a presigned download URL (`?redirect=true`, s3 only), `1`–`604800`',
  }),
  directUploadTtlSeconds: variable('DIRECT_UPLOAD_TTL_SECONDS', integer(3600, 1, 7 * 86_400), {
    default: '`3600`',
    meaning:
      'how long a direct upload may stay open between its URL and its completion (its size is reserved meanwhile), `1`–`604800`',
  }),
  maxVersionsPerDocument: variable('MAX_VERSIONS_PER_DOCUMENT', integer(20, 1, 10_000), {
    default: '`20`',
    meaning: 'content versions kept per document (the oldest beyond are deleted), `1`–`10000`',
  }),
};

/** The rules across variables: what the s3 driver needs, and what each driver holds per file. */
export function finishStorageConfig(
  settings: StorageSettings,
  uploadMaxBytes: number,
  problems: string[],
): StorageConfig {
  const { driver, bucket, endpoint, accessKeyId, secretAccessKey, forcePathStyle } = settings;
  const region = settings.region ?? (endpoint ? 'auto' : undefined);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither');
  }
  if (driver === 's3') {
    if (bucket === undefined) problems.push('S3_BUCKET is required when STORAGE_DRIVER=s3');
    if (region === undefined) problems.push('S3_REGION is required when STORAGE_DRIVER=s3 without S3_ENDPOINT');
  }
  const limit = driver === 's3' ? S3_MAX_UPLOAD_BYTES : POSTGRES_MAX_UPLOAD_BYTES;
  if (uploadMaxBytes > limit) {
    problems.push(
      `UPLOAD_MAX_BYTES may be at most ${limit} with STORAGE_DRIVER=${driver} (got ${uploadMaxBytes})` +
        (driver === 'postgres' ? '; larger files need STORAGE_DRIVER=s3' : ''),
    );
  }
  return {
    driver,
    s3:
      bucket === undefined
        ? undefined
        : { bucket, region: region ?? 'us-east-1', endpoint, accessKeyId, secretAccessKey, forcePathStyle },
    downloadUrlTtlSeconds: settings.downloadUrlTtlSeconds,
    directUploadTtlSeconds: settings.directUploadTtlSeconds,
    maxVersionsPerDocument: settings.maxVersionsPerDocument,
  };
}
