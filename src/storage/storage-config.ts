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
/** S3's limit for one object written in a single upload flow we support. */
export const S3_MAX_UPLOAD_BYTES = 5 * GIB;
/** What the postgres driver accepts per file: its chunks are rows in the main database. */
export const POSTGRES_MAX_UPLOAD_BYTES = GIB;

interface Readers {
  read(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number): number;
  url(name: string, protocols: string[]): string | undefined;
  boolean(name: string, fallback: boolean): boolean;
  problems: string[];
  uploadMaxBytes: number;
}

export function readStorageConfig({ read, integer, url, boolean, problems, uploadMaxBytes }: Readers): StorageConfig {
  const raw = read('STORAGE_DRIVER') ?? 'postgres';
  let driver: StorageDriverName = 'postgres';
  if ((STORAGE_DRIVERS as readonly string[]).includes(raw)) driver = raw as StorageDriverName;
  else problems.push(`STORAGE_DRIVER must be one of ${STORAGE_DRIVERS.join(', ')} (got "${raw}")`);

  const bucket = read('S3_BUCKET');
  const endpoint = url('S3_ENDPOINT', ['http:', 'https:']);
  const region = read('S3_REGION') ?? (endpoint ? 'auto' : undefined);
  const accessKeyId = read('S3_ACCESS_KEY_ID');
  const secretAccessKey = read('S3_SECRET_ACCESS_KEY');
  const forcePathStyle = boolean('S3_FORCE_PATH_STYLE', false);
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
    downloadUrlTtlSeconds: integer('DOWNLOAD_URL_TTL_SECONDS', 300, 1, 7 * 86_400),
    directUploadTtlSeconds: integer('DIRECT_UPLOAD_TTL_SECONDS', 3600, 1, 7 * 86_400),
    maxVersionsPerDocument: integer('MAX_VERSIONS_PER_DOCUMENT', 20, 1, 10_000),
  };
}
