// An S3-protocol server (s3rver, with signature checks) on a local port, its
// objects in `directory`, for the tests (test/support/s3.ts) and the fault suite
// (test/faults/storage-outage.mjs). `stop` and `start` again on the same port
// simulate an outage; `env` configures the service's s3 driver for it; `client`
// is the real SDK with the checksum settings non-AWS servers need.
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export async function startS3Server({ port, directory, bucket }) {
  let server;
  const start = async () => {
    server = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory,
      configureBuckets: [{ name: bucket, configs: [] }],
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
  return {
    endpoint,
    client,
    env: {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: endpoint,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    start,
    async stop() {
      await server?.close();
      server = undefined;
    },
  };
}
