import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { freePort } from './process.js';

export const S3_BUCKET = 'ultrai-test';

/**
 * An S3-protocol server (s3rver, with signature checks) on a free local port,
 * its objects in a temporary directory; `stop` and `start` again simulate an
 * outage. `env` configures the app's s3 driver for it.
 */
export interface TestS3 {
  env: Record<string, string>;
  client: S3Client;
  /** Keys of the objects in the bucket (under documents/). */
  keys(): Promise<string[]>;
  exists(key: string): Promise<boolean>;
  get(key: string): Promise<Buffer>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startS3(): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'ultrai-s3-'));
  const port = await freePort();
  let server: S3rver | undefined;
  const start = async () => {
    server = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory,
      configureBuckets: [{ name: S3_BUCKET, configs: [] }],
    });
    await server.run();
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const keys = async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: 'documents/' }));
    return (page.Contents ?? []).map((o) => o.Key!.slice('documents/'.length));
  };
  return {
    env: {
      STORAGE_DRIVER: 's3',
      S3_BUCKET,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    client,
    keys,
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: `documents/${key}` }));
        return true;
      } catch {
        return false;
      }
    },
    async get(key) {
      const answer = await client.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: `documents/${key}` }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    },
    stop: async () => {
      await server?.close();
      server = undefined;
    },
    start,
    async close() {
      client.destroy();
      await server?.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
