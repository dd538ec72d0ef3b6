import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from './s3-server.mjs';
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
  const s3 = await startS3Server({ port, directory, bucket: S3_BUCKET });
  const { client } = s3;
  const keys = async () => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: 'documents/' }));
    return (page.Contents ?? []).map((o) => o.Key!.slice('documents/'.length));
  };
  return {
    env: s3.env,
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
    stop: s3.stop,
    start: s3.start,
    async close() {
      client.destroy();
      await s3.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
