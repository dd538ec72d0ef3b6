import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DataSource } from 'typeorm';
import { contentDisposition } from '../src/documents/filename.js';
import { StorageSweeper } from '../src/storage/storage-sweeper.js';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { binaryBody, PNG, pdfBytes, sha256 } from './support/files.js';
import { S3_BUCKET, startS3, type TestS3 } from './support/s3.js';

const MiB = 1024 * 1024;
/** Deterministic text crossing the postgres driver's 256 KiB chunk boundary. */
const TEXT = Buffer.from(
  Array.from({ length: 20_000 }, (_, i) => `line ${String(i).padStart(5, '0')} of the storage test\n`).join(''),
);

/** A PDF of `size` bytes (the content check reads the signature; the rest is padding). */
function bigPdf(size: number): Buffer {
  const head = pdfBytes();
  return Buffer.concat([head, Buffer.alloc(size - head.length, 0x20)]);
}

describe.each(['postgres', 's3'] as const)('storage with the %s driver', (driver) => {
  let s3: TestS3 | undefined;
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    if (driver === 's3') s3 = await startS3();
    t = await startTestApp({
      env: {
        ...s3?.env,
        MAX_VERSIONS_PER_DOCUMENT: '3',
        DOWNLOAD_URL_TTL_SECONDS: '1',
        DOWNLOAD_CONCURRENCY: '30',
        DOWNLOAD_CONCURRENCY_PER_USER: '30',
        UPLOAD_MAX_BYTES: String(11 * MiB),
        USER_QUOTA_BYTES: String(400 * MiB),
      },
    });
    alice = await signUp(t);
  });

  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  const db = () => t.app.get(DataSource);
  /**
   * Lowers USER_QUOTA_BYTES of the running app (the one config object its services
   * read) for one test, with a fresh user; returns the undo. A second app in this
   * process would share Passport's strategy with this one.
   */
  const withQuota = (bytes: number) => {
    const config = t.config as { userQuotaBytes: number };
    const before = config.userQuotaBytes;
    config.userQuotaBytes = bytes;
    return () => (config.userQuotaBytes = before);
  };
  const upload = (account: Account, data: Buffer, filename: string, type: string) =>
    t.http.post('/documents').set(bearer(account.access)).attach('file', data, { filename, contentType: type });
  const get = (account: Account, path: string) =>
    t.http.get(path).set(bearer(account.access)).buffer(true).parse(binaryBody);
  /** Objects (s3) or chunked objects (postgres) the store holds. */
  const objectKeys = async (): Promise<string[]> =>
    s3
      ? s3.keys()
      : (await db().query('SELECT DISTINCT object_key AS key FROM storage_chunks')).map((r: { key: string }) => r.key);
  const versionKeys = async (id: string): Promise<string[]> =>
    (await db().query('SELECT storage_key AS key FROM document_versions WHERE document_id = $1 ORDER BY n', [id])).map(
      (r: { key: string }) => r.key,
    );

  describe('content around the chunk size', () => {
    const CHUNK = 256 * 1024;
    it.each([
      ['one byte', 1],
      ['a byte short of a chunk', CHUNK - 1],
      ['exactly one chunk', CHUNK],
      ['a byte over a chunk', CHUNK + 1],
      ['two chunks and a little', 2 * CHUNK + 1000],
    ])('stores %s and sends back the same bytes', async (_name, n) => {
      const data = TEXT.subarray(0, n);
      const { id } = (await upload(alice, data, 'part.txt', 'text/plain').expect(201)).body;
      const res = await get(alice, `/documents/${id}/content`).expect(200);
      expect(res.body.length).toBe(n);
      expect(sha256(res.body)).toBe(sha256(data));
      if (driver === 'postgres') {
        const [key] = await versionKeys(id);
        const rows = await db().query(
          'SELECT seq, octet_length(data)::int AS bytes FROM storage_chunks WHERE object_key = $1 ORDER BY seq',
          [key],
        );
        // whole chunks, then what is left, in order
        const sizes = Array.from({ length: Math.ceil(n / CHUNK) }, (_, i) => Math.min(CHUNK, n - i * CHUNK));
        expect(rows.map((r: { seq: number; bytes: number }) => [r.seq, r.bytes])).toEqual(sizes.map((b, i) => [i, b]));
      }
    });
  });

  describe('ranges', () => {
    let id: string;
    const size = TEXT.length;
    beforeAll(async () => {
      expect(size).toBeGreaterThan(256 * 1024 + 10);
      id = (await upload(alice, TEXT, 'lines.txt', 'text/plain').expect(201)).body.id;
    });

    it('sends the whole file streamed, with Accept-Ranges, and records it with this driver', async () => {
      const res = await get(alice, `/documents/${id}/content`).expect(200);
      expect(Buffer.compare(res.body, TEXT)).toBe(0);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers['content-length']).toBe(String(size));
      const [row] = await db().query('SELECT storage_driver AS driver FROM document_versions WHERE document_id = $1', [
        id,
      ]);
      expect(row.driver).toBe(driver);
    });

    it.each([
      ['the first bytes', 'bytes=0-9', 0, 9],
      ['one byte', 'bytes=5-5', 5, 5],
      ['across a chunk boundary', 'bytes=262140-262150', 262140, 262150],
      ['an open end', `bytes=${size - 100}-`, size - 100, size - 1],
      ['a suffix', 'bytes=-7', size - 7, size - 1],
      ['a suffix longer than the file', `bytes=-${size + 50}`, 0, size - 1],
      ['an end past the file', `bytes=${size - 3}-${size + 1000}`, size - 3, size - 1],
    ])('answers %s with 206 and Content-Range', async (_name, range, start, end) => {
      const res = await get(alice, `/documents/${id}/content`).set('range', range).expect(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(Buffer.compare(res.body, TEXT.subarray(start, end + 1))).toBe(0);
    });

    it.each([
      ['starts at the end', `bytes=${size}-`],
      ['starts past the end', `bytes=${size + 10}-${size + 20}`],
      ['is an empty suffix', 'bytes=-0'],
    ])('answers a range that %s with 416 problem+json and Content-Range: bytes */size', async (_name, range) => {
      const res = await t.http
        .get(`/documents/${id}/content`)
        .set(bearer(alice.access))
        .set('range', range)
        .expect(416);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['content-range']).toBe(`bytes */${size}`);
      expect(res.body.type).toMatch(/range-not-satisfiable$/);
    });

    it.each([
      ['several ranges', 'bytes=0-1,5-6'],
      ['another unit', 'items=0-1'],
      ['a reversed range', 'bytes=9-2'],
      ['garbage', 'bytes=a-b'],
    ])('ignores %s and sends everything (200)', async (_name, range) => {
      const res = await get(alice, `/documents/${id}/content`).set('range', range).expect(200);
      expect(res.body.length).toBe(size);
    });

    it('applies a range only while If-Range names the current content', async () => {
      const etag = `"${sha256(TEXT)}"`;
      const partial = await get(alice, `/documents/${id}/content`).set('range', 'bytes=0-3').set('if-range', etag);
      expect(partial.status).toBe(206);
      expect(partial.body.toString()).toBe('line');
      const stale = await get(alice, `/documents/${id}/content`)
        .set('range', 'bytes=0-3')
        .set('if-range', `"${sha256('older')}"`);
      expect(stale.status).toBe(200);
      expect(stale.body.length).toBe(size);
    });

    it('answers If-None-Match with 304 before any range', async () => {
      await t.http
        .get(`/documents/${id}/content`)
        .set(bearer(alice.access))
        .set('if-none-match', `"${sha256(TEXT)}"`)
        .set('range', 'bytes=0-1')
        .expect(304);
    });

    it('refuses a range on an empty file with 416', async () => {
      const empty = (await upload(alice, Buffer.alloc(0), 'empty.txt', 'text/plain').expect(201)).body.id;
      const whole = await get(alice, `/documents/${empty}/content`).expect(200);
      expect(whole.body.length).toBe(0);
      await t.http.get(`/documents/${empty}/content`).set(bearer(alice.access)).set('range', 'bytes=0-0').expect(416);
    });

    it('finds text from the uploaded content in a search, as before', async () => {
      const res = await t.http.get('/documents').query({ q: '00042' }).set(bearer(alice.access)).expect(200);
      expect(res.body.items.map((d: { id: string }) => d.id)).toContain(id);
    });
  });

  describe('uploads streamed to the driver', () => {
    it('leaves no object behind when the content check refuses a file mid-way', async () => {
      const before = await objectKeys();
      // Valid text for its first megabyte, then a binary control byte.
      const data = Buffer.concat([Buffer.alloc(MiB, 0x61), Buffer.from([0x00]), Buffer.alloc(MiB, 0x61)]);
      const res = await upload(alice, data, 'late.txt', 'text/plain');
      expect(res.status).toBe(415);
      expect((await objectKeys()).sort()).toEqual(before.sort());
    });

    it('leaves no object behind for a file one byte over UPLOAD_MAX_BYTES', async () => {
      const before = await objectKeys();
      const res = await upload(alice, bigPdf(11 * MiB + 1), 'big.pdf', 'application/pdf');
      expect(res.status).toBe(413);
      expect((await objectKeys()).sort()).toEqual(before.sort());
    });

    it('sends 30 concurrent 10 MiB downloads, all 200 and intact', async () => {
      const data = bigPdf(10 * MiB);
      const id = (await upload(alice, data, 'ten.pdf', 'application/pdf').expect(201)).body.id;
      const results = await Promise.all(
        Array.from({ length: 30 }, () => get(alice, `/documents/${id}/content`).then((r) => r)),
      );
      expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
      for (const r of results) expect(sha256(r.body)).toBe(sha256(data));
    });
  });

  describe('versions', () => {
    it('keeps versions, serves each, restores one as a new version, and prunes past MAX_VERSIONS_PER_DOCUMENT', async () => {
      const v1 = Buffer.from('first version\n');
      const v2 = Buffer.from('second version\n');
      const created = (await upload(alice, v1, 'notes.txt', 'text/plain').expect(201)).body;
      const put = (data: Buffer, ifMatch?: string) => {
        const req = t.http.put(`/documents/${created.id}/content`).set(bearer(alice.access));
        if (ifMatch) req.set('if-match', ifMatch);
        return req.attach('file', data, { filename: 'notes.txt', contentType: 'text/plain' });
      };
      await put(v2, '"99"').expect(412);
      const second = await put(v2, `"${created.version}"`).expect(200);
      expect(second.body).toMatchObject({ size: v2.length, sha256: sha256(v2), version: created.version + 1 });
      expect(second.headers.etag).toBe(`"${created.version + 1}"`);

      const list = await t.http.get(`/documents/${created.id}/versions`).set(bearer(alice.access)).expect(200);
      expect(list.body.items).toMatchObject([
        { n: 2, size: v2.length, sha256: sha256(v2), current: true },
        { n: 1, size: v1.length, sha256: sha256(v1), current: false },
      ]);
      expect((await get(alice, `/documents/${created.id}/content`).expect(200)).body.toString()).toBe(v2.toString());
      const old = await get(alice, `/documents/${created.id}/versions/1/content`).expect(200);
      expect(old.body.toString()).toBe(v1.toString());
      expect(old.headers.etag).toBe(`"${sha256(v1)}"`);
      const oldRange = await get(alice, `/documents/${created.id}/versions/1/content`).set('range', 'bytes=0-4');
      expect(oldRange.status).toBe(206);
      expect(oldRange.body.toString()).toBe('first');

      const restored = await t.http
        .post(`/documents/${created.id}/versions/1/restore`)
        .set(bearer(alice.access))
        .expect(200);
      expect(restored.body).toMatchObject({ sha256: sha256(v1), size: v1.length });
      expect((await get(alice, `/documents/${created.id}/content`).expect(200)).body.toString()).toBe(v1.toString());
      // Search follows the current content.
      const found = await t.http.get('/documents').query({ q: 'first' }).set(bearer(alice.access)).expect(200);
      expect(found.body.items.map((d: { id: string }) => d.id)).toContain(created.id);

      const keysBefore = await versionKeys(created.id);
      expect(keysBefore).toHaveLength(3);
      await put(Buffer.from('fourth version\n')).expect(200);
      const after = await t.http.get(`/documents/${created.id}/versions`).set(bearer(alice.access)).expect(200);
      expect(after.body.items.map((v: { n: number }) => v.n)).toEqual([4, 3, 2]);
      await t.http.get(`/documents/${created.id}/versions/1/content`).set(bearer(alice.access)).expect(404);
      // The pruned version's bytes are gone from the store too.
      await t.app.get(StorageSweeper).sweep();
      expect(await objectKeys()).not.toContain(keysBefore[0]);
    });

    it('takes a new version as the raw body with its Content-Type (text, JSON, PDF), refusing a mismatch with 415', async () => {
      const created = (await upload(alice, Buffer.from('{"v":1}'), 'data.json', 'application/json').expect(201)).body;
      const raw = (data: Buffer | string, type: string) =>
        t.http.put(`/documents/${created.id}/content`).set(bearer(alice.access)).set('content-type', type).send(data);
      const json = await raw('{"v":2}', 'application/json');
      expect(json.status).toBe(200);
      expect(json.body).toMatchObject({
        sha256: sha256('{"v":2}'),
        mimeType: 'application/json',
        filename: 'data.json',
      });
      expect((await get(alice, `/documents/${created.id}/content`).expect(200)).body.toString()).toBe('{"v":2}');
      const before = await objectKeys();
      await raw('{"v":', 'application/json').expect(415);
      await raw(PNG, 'text/plain').expect(415);
      expect((await objectKeys()).sort()).toEqual(before.sort());
      const text = await raw(Buffer.from('plain now'), 'text/plain').expect(200);
      expect(text.body).toMatchObject({ mimeType: 'text/plain', size: 9 });
      const pdf = pdfBytes('raw');
      await raw(pdf, 'application/pdf').expect(200);
      const list = await t.http.get(`/documents/${created.id}/versions`).set(bearer(alice.access)).expect(200);
      expect(list.body.items.map((v: { mimeType: string }) => v.mimeType)).toEqual([
        'application/pdf',
        'text/plain',
        'application/json',
      ]);
    });

    it('refuses a new version of the wrong type (415), of someone else’s document (404), and bad version numbers (400)', async () => {
      const bob = await signUp(t);
      const created = (await upload(alice, Buffer.from('text'), 'a.txt', 'text/plain').expect(201)).body;
      const before = await objectKeys();
      await t.http
        .put(`/documents/${created.id}/content`)
        .set(bearer(alice.access))
        .attach('file', PNG, { filename: 'a.txt', contentType: 'text/plain' })
        .expect(415);
      await t.http
        .put(`/documents/${created.id}/content`)
        .set(bearer(bob.access))
        .attach('file', Buffer.from('mine now'), { filename: 'a.txt', contentType: 'text/plain' })
        .expect(404);
      expect((await objectKeys()).sort()).toEqual(before.sort());
      await t.http.get(`/documents/${created.id}/versions/0/content`).set(bearer(alice.access)).expect(400);
      await t.http.get(`/documents/${created.id}/versions/x/content`).set(bearer(alice.access)).expect(400);
      await t.http.post(`/documents/${created.id}/versions/9/restore`).set(bearer(alice.access)).expect(404);
      await t.http.get(`/documents/${created.id}/versions`).set(bearer(bob.access)).expect(404);
    });

    it('counts every kept version toward the quota; the document’s size is the current version’s', async () => {
      const restore = withQuota(3 * MiB);
      try {
        const carol = await signUp(t);
        const a = bigPdf(1.5 * MiB);
        const created = await t.http
          .post('/documents')
          .set(bearer(carol.access))
          .attach('file', a, { filename: 'a.pdf', contentType: 'application/pdf' })
          .expect(201);
        const b = bigPdf(1.2 * MiB);
        const second = await t.http
          .put(`/documents/${created.body.id}/content`)
          .set(bearer(carol.access))
          .attach('file', b, { filename: 'a.pdf', contentType: 'application/pdf' })
          .expect(200);
        expect(second.body.size).toBe(b.length);
        // 1.5 + 1.2 MiB kept: another 0.5 MiB would pass 3 MiB.
        const refused = await t.http
          .put(`/documents/${created.body.id}/content`)
          .set(bearer(carol.access))
          .attach('file', bigPdf(0.5 * MiB), { filename: 'a.pdf', contentType: 'application/pdf' })
          .expect(413);
        expect(refused.body.detail).toMatch(/quota/);
        await t.http.post(`/documents/${created.body.id}/versions/1/restore`).set(bearer(carol.access)).expect(413);
      } finally {
        restore();
      }
    });
  });

  if (driver === 'postgres') {
    it('refuses direct uploads with 409: they need object storage', async () => {
      const res = await t.http
        .post('/documents/uploads')
        .set(bearer(alice.access))
        .send({ filename: 'a.pdf', size: 10, mimeType: 'application/pdf' })
        .expect(409);
      expect(res.body.detail).toMatch(/object storage/);
    });

    it('ignores ?redirect=true and streams the bytes', async () => {
      const id = (await upload(alice, Buffer.from('here'), 'r.txt', 'text/plain').expect(201)).body.id;
      const res = await get(alice, `/documents/${id}/content?redirect=true`).expect(200);
      expect(res.body.toString()).toBe('here');
    });
  }

  if (driver === 's3') {
    describe('presigned downloads', () => {
      it('redirects to a URL that serves the bytes with the right headers, and stops working after its TTL', async () => {
        // Long enough to be fetched on a busy machine; shortened below for the expiry.
        const storage = (t.config as { storage: { downloadUrlTtlSeconds: number } }).storage;
        storage.downloadUrlTtlSeconds = 300;
        const data = pdfBytes('presigned');
        const id = (await upload(alice, data, 'Report "Q1".pdf', 'application/pdf').expect(201)).body.id;
        for (const request of [
          t.http.get(`/documents/${id}/content?redirect=true`).set(bearer(alice.access)),
          t.http.get(`/documents/${id}/content`).set(bearer(alice.access)).set('accept', 'text/uri-list'),
        ]) {
          const res = await request.redirects(0).expect(302);
          const url = res.headers.location as string;
          expect(url).toContain(s3!.env.S3_ENDPOINT);
          const fetched = await fetch(url);
          expect(fetched.status).toBe(200);
          expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);
          expect(fetched.headers.get('content-type')).toBe('application/pdf');
          // The same header as the API's own download sends.
          expect(fetched.headers.get('content-disposition')).toBe(contentDisposition('Report "Q1".pdf'));
        }
        storage.downloadUrlTtlSeconds = 1;
        const res = await t.http.get(`/documents/${id}/content?redirect=true`).set(bearer(alice.access)).redirects(0);
        const url = res.headers.location as string;
        // DOWNLOAD_URL_TTL_SECONDS=1: the signature expires within two seconds.
        let status = 200;
        for (let i = 0; i < 100 && status === 200; i += 1) {
          status = (await fetch(url)).status;
          if (status === 200) await new Promise((r) => setTimeout(r, 100));
        }
        expect(status).toBe(403);
      });

      it('another user gets 404, not a URL', async () => {
        const bob = await signUp(t);
        const id = (await upload(alice, Buffer.from('private'), 'p.txt', 'text/plain').expect(201)).body.id;
        await t.http.get(`/documents/${id}/content?redirect=true`).set(bearer(bob.access)).redirects(0).expect(404);
      });
    });

    describe('direct uploads', () => {
      const start = (account: Account, body: object) =>
        t.http.post('/documents/uploads').set(bearer(account.access)).send(body);
      const putTo = (started: { url: string; headers: Record<string, string> }, data: Buffer) =>
        fetch(started.url, { method: 'PUT', headers: started.headers, body: data });
      const complete = (account: Account, uploadId: string, body: object = {}) =>
        t.http.post(`/documents/uploads/${uploadId}/complete`).set(bearer(account.access)).send(body);

      it('PUT to the presigned URL, then complete: the document exists with checked size, type and sha256', async () => {
        const data = pdfBytes('direct');
        const started = await start(alice, {
          filename: 'direct.pdf',
          size: data.length,
          mimeType: 'application/pdf',
          sha256: sha256(data),
        }).expect(201);
        expect(started.body).toMatchObject({ method: 'PUT', headers: { 'content-type': 'application/pdf' } });
        expect(new Date(started.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
        expect((await putTo(started.body, data)).status).toBe(200);
        const done = await complete(alice, started.body.uploadId, { title: 'Direct', tags: ['x'] }).expect(201);
        expect(done.body).toMatchObject({ title: 'Direct', size: data.length, sha256: sha256(data), tags: ['x'] });
        expect(done.headers.location).toBe(`/documents/${done.body.id}`);
        const content = await get(alice, `/documents/${done.body.id}/content`).expect(200);
        expect(content.body.equals(data)).toBe(true);
        // Completed once: a second completion is a 404.
        await complete(alice, started.body.uploadId).expect(404);
      });

      it('completing before the PUT is a 409; the upload stays open for the PUT', async () => {
        const data = Buffer.from('late put');
        const started = await start(alice, { filename: 'l.txt', size: data.length, mimeType: 'text/plain' }).expect(
          201,
        );
        const early = await complete(alice, started.body.uploadId).expect(409);
        expect(early.body.type).toMatch(/upload-missing$/);
        expect((await putTo(started.body, data)).status).toBe(200);
        await complete(alice, started.body.uploadId).expect(201);
      });

      it.each([
        ['a size other than declared', Buffer.from('12345'), { size: 4, mimeType: 'text/plain' }, 422],
        ['bytes of another type', PNG, { size: PNG.length, mimeType: 'text/plain' }, 415],
        [
          'a sha256 other than declared',
          Buffer.from('abcd'),
          { size: 4, mimeType: 'text/plain', sha256: sha256('abce') },
          422,
        ],
      ])('refuses %s, discarding the object and the reservation', async (_name, data, declared, status) => {
        const started = await start(alice, { filename: 'd.txt', ...declared }).expect(201);
        expect((await putTo(started.body, data)).status).toBe(200);
        const key = (
          await db().query('SELECT storage_key AS key FROM document_uploads WHERE id = $1', [started.body.uploadId])
        )[0].key;
        expect(await s3!.exists(key)).toBe(true);
        await complete(alice, started.body.uploadId).expect(status);
        expect(await s3!.exists(key)).toBe(false);
        await complete(alice, started.body.uploadId).expect(404);
      });

      it('refuses a declared size over UPLOAD_MAX_BYTES (413) and bad input (400), and needs a token (401)', async () => {
        await start(alice, { filename: 'a.pdf', size: 11 * MiB + 1, mimeType: 'application/pdf' }).expect(413);
        await start(alice, { filename: 'a.png', size: 1, mimeType: 'image/png' }).expect(400);
        await start(alice, { filename: 'a.pdf', size: -1, mimeType: 'application/pdf' }).expect(400);
        await t.http
          .post('/documents/uploads')
          .send({ filename: 'a.pdf', size: 1, mimeType: 'application/pdf' })
          .expect(401);
        await complete(alice, 'not-a-uuid').expect(400);
      });

      it('expires uploads never completed: 410, and the sweep removes their objects', async () => {
        {
          const data = Buffer.from('never completed');
          const started = await t.http
            .post('/documents/uploads')
            .set(bearer(alice.access))
            .send({ filename: 'n.txt', size: data.length, mimeType: 'text/plain' })
            .expect(201);
          expect((await putTo(started.body, data)).status).toBe(200);
          const key = (
            await db().query('SELECT storage_key AS key FROM document_uploads WHERE id = $1', [started.body.uploadId])
          )[0].key;
          // Expired once the database's clock passes expires_at.
          await db().query(`UPDATE document_uploads SET expires_at = now() - interval '1 second' WHERE id = $1`, [
            started.body.uploadId,
          ]);
          const second = await t.http
            .post('/documents/uploads')
            .set(bearer(alice.access))
            .send({ filename: 'm.txt', size: 3, mimeType: 'text/plain' })
            .expect(201);
          await db().query(`UPDATE document_uploads SET expires_at = now() - interval '1 second' WHERE id = $1`, [
            second.body.uploadId,
          ]);
          await t.http
            .post(`/documents/uploads/${started.body.uploadId}/complete`)
            .set(bearer(alice.access))
            .send({})
            .expect(410);
          expect(await s3!.exists(key)).toBe(false);
          const swept = await t.app.get(StorageSweeper).sweep();
          expect(swept?.expiredUploads).toBe(1);
          await t.http
            .post(`/documents/uploads/${second.body.uploadId}/complete`)
            .set(bearer(alice.access))
            .send({})
            .expect(404);
        }
      });

      it('counts open direct uploads toward the quota: a direct and an API upload racing, one wins', async () => {
        const restore = withQuota(MiB);
        try {
          const dave = await signUp(t);
          const apiFile = bigPdf(600 * 1024);
          const [direct, api] = await Promise.all([
            t.http
              .post('/documents/uploads')
              .set(bearer(dave.access))
              .send({ filename: 'd.pdf', size: 600 * 1024, mimeType: 'application/pdf' }),
            t.http
              .post('/documents')
              .set(bearer(dave.access))
              .attach('file', apiFile, { filename: 'a.pdf', contentType: 'application/pdf' }),
          ]);
          expect([direct.status, api.status].sort()).toEqual([201, 413]);
          // Whichever won, the other kind is refused while it holds the quota.
          await t.http
            .post('/documents/uploads')
            .set(bearer(dave.access))
            .send({ filename: 'e.pdf', size: 500 * 1024, mimeType: 'application/pdf' })
            .expect(413);
          const used = (
            await t.app.get(DataSource).query(
              `SELECT (coalesce((SELECT sum(size) FROM document_uploads WHERE owner_id = $1), 0)
                   + coalesce((SELECT sum(v.size) FROM document_versions v JOIN documents d ON d.id = v.document_id WHERE d.owner_id = $1), 0))::float8 AS used`,
              [dave.id],
            )
          )[0].used;
          expect(used).toBe(600 * 1024);
        } finally {
          restore();
        }
      });
    });

    it('sweeps orphaned objects (no row names them) once they are old enough, and keeps the others', async () => {
      const key = '0b6c6c1e-3f5e-4d0e-9d6f-6f2b9c1b1a11';
      await s3!.client.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: `documents/${key}`, Body: 'orphan' }));
      const kept = (await upload(alice, Buffer.from('kept'), 'k.txt', 'text/plain').expect(201)).body.id;
      const [keptKey] = await versionKeys(kept);
      const sweeper = t.app.get(StorageSweeper);
      await sweeper.sweep({ orphansOlderThan: new Date(Date.now() - 3_600_000) });
      expect(await s3!.exists(key)).toBe(true);
      await sweeper.sweep({ orphansOlderThan: new Date(Date.now() + 60_000) });
      expect(await s3!.exists(key)).toBe(false);
      expect(await s3!.exists(keptKey)).toBe(true);
    });

    it('deleting a document for good deletes its objects (the trash keeps them)', async () => {
      const id = (await upload(alice, Buffer.from('short-lived'), 's.txt', 'text/plain').expect(201)).body.id;
      const [key] = await versionKeys(id);
      expect(await s3!.exists(key)).toBe(true);
      await t.http.delete(`/documents/${id}`).set(bearer(alice.access)).expect(204);
      await t.app.get(StorageSweeper).sweep();
      expect(await s3!.exists(key)).toBe(true);
      await t.http.delete(`/documents/${id}?permanent=true`).set(bearer(alice.access)).expect(204);
      await t.app.get(StorageSweeper).sweep();
      expect(await s3!.exists(key)).toBe(false);
    });
  }
});
