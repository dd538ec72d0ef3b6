import type { S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  endpoint: string;
  client: S3Client;
  /** The service's s3 driver settings for this server. */
  env: Record<string, string>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function startS3Server(options: { port: number; directory: string; bucket: string }): Promise<S3Server>;
