import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { binaryBody, pdfBytes, sha256 } from './support/files.js';
import { spawnNode } from './support/process.js';
import { S3_BUCKET, startS3, type TestS3 } from './support/s3.js';

/** `npm run cli -- storage:migrate --to s3|postgres` moves every version's bytes, verified and resumable. */
describe('storage:migrate', () => {
  let s3: TestS3;
  let db: TestDatabase;
  const files = {
    big: Buffer.concat([pdfBytes('big'), Buffer.alloc(700 * 1024, 0x20)]),
    text: Buffer.from('plain text that moves\n'),
    v1: Buffer.from('first version\n'),
    v2: Buffer.from('second version\n'),
  };
  let alice: Account;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    s3 = await startS3();
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    await s3?.close();
  });

  /** One app at a time on the database (the CLI needs the embedded one to itself). */
  async function withApp<T>(env: Record<string, string>, work: (t: TestApp) => Promise<T>): Promise<T> {
    const t = await startTestApp({ db, env });
    try {
      return await work(t);
    } finally {
      await t.app.close();
    }
  }

  const cli = async (to: string) => {
    const run = spawnNode(['dist/cli.js', 'storage:migrate', '--to', to], {
      ...db.env,
      ...s3.env,
      STORAGE_DRIVER: 'postgres',
    });
    return { code: (await run.exit).code, output: run.output() };
  };

  const download = (t: TestApp, path: string) =>
    t.http.get(path).set(bearer(alice.access)).buffer(true).parse(binaryBody);

  async function expectAllReadable(t: TestApp): Promise<void> {
    for (const [path, data] of [
      [`/documents/${ids.big}/content`, files.big],
      [`/documents/${ids.text}/content`, files.text],
      [`/documents/${ids.versioned}/content`, files.v2],
      [`/documents/${ids.versioned}/versions/1/content`, files.v1],
    ] as const) {
      const res = await download(t, path).expect(200);
      expect(sha256(res.body as Buffer)).toBe(sha256(data));
    }
  }

  const drivers = (t: TestApp): Promise<Array<{ driver: string; n: number }>> =>
    t.app
      .get(DataSource)
      .query('SELECT storage_driver AS driver, count(*)::int AS n FROM document_versions GROUP BY 1 ORDER BY 1');

  it('moves postgres chunks to the bucket, then back, checking each sha256 and resuming after a mismatch', async () => {
    await withApp({}, async (t) => {
      alice = await signUp(t);
      const up = (data: Buffer, name: string, type: string) =>
        t.http
          .post('/documents')
          .set(bearer(alice.access))
          .attach('file', data, { filename: name, contentType: type })
          .expect(201);
      ids.big = (await up(files.big, 'big.pdf', 'application/pdf')).body.id;
      ids.text = (await up(files.text, 'a.txt', 'text/plain')).body.id;
      ids.versioned = (await up(files.v1, 'v.txt', 'text/plain')).body.id;
      await t.http
        .put(`/documents/${ids.versioned}/content`)
        .set(bearer(alice.access))
        .attach('file', files.v2, { filename: 'v.txt', contentType: 'text/plain' })
        .expect(200);
      expect(await drivers(t)).toEqual([{ driver: 'postgres', n: 4 }]);
    });

    const toS3 = await cli('s3');
    expect(toS3).toMatchObject({ code: 0 });
    expect(toS3.output).toContain(
      `Moved 4 version(s), ${files.big.length + files.text.length + files.v1.length + files.v2.length} bytes, to s3.`,
    );
    expect(await s3.keys()).toHaveLength(4);

    const keys = await withApp(s3.env, async (t) => {
      expect(await drivers(t)).toEqual([{ driver: 's3', n: 4 }]);
      const [{ n }] = await t.app.get(DataSource).query('SELECT count(*)::int AS n FROM storage_chunks');
      expect(n).toBe(0);
      await expectAllReadable(t);
      return (await t.app
        .get(DataSource)
        .query('SELECT storage_key AS key FROM document_versions WHERE document_id = $1', [ids.text])) as Array<{
        key: string;
      }>;
    });

    // Nothing left to do: a second run moves nothing.
    expect((await cli('s3')).output).toContain('Moved 0 version(s)');

    // One object no longer matches its sha256: that version stays in the bucket, the others move.
    await s3.client.send(
      new PutObjectCommand({ Bucket: S3_BUCKET, Key: `documents/${keys[0].key}`, Body: 'tampered' }),
    );
    const back = await cli('postgres');
    expect(back.code).toBe(1);
    expect(back.output).toContain('Moved 3 version(s)');
    expect(back.output).toContain(`did not match their sha256 and were left where they were: ${keys[0].key}`);
    expect(await s3.keys()).toEqual([keys[0].key]);

    // Put right, a rerun finishes the move.
    await s3.client.send(
      new PutObjectCommand({ Bucket: S3_BUCKET, Key: `documents/${keys[0].key}`, Body: files.text }),
    );
    expect(await cli('postgres')).toMatchObject({ code: 0, output: expect.stringContaining('Moved 1 version(s)') });
    expect(await s3.keys()).toEqual([]);

    await withApp({}, async (t) => {
      expect(await drivers(t)).toEqual([{ driver: 'postgres', n: 4 }]);
      await expectAllReadable(t);
    });
  }, 300_000);

  it('refuses a bad target (exit 2) and s3 without a bucket (exit 1)', async () => {
    const bad = spawnNode(['dist/cli.js', 'storage:migrate', '--to', 'ftp'], db.env);
    expect((await bad.exit).code).toBe(2);
    expect(bad.output()).toContain('Usage: node dist/cli.js storage:migrate --to s3|postgres');
    const noBucket = spawnNode(['dist/cli.js', 'storage:migrate', '--to', 's3'], db.env);
    expect((await noBucket.exit).code).toBe(1);
    expect(noBucket.output()).toContain('Set S3_BUCKET');
  });
});
