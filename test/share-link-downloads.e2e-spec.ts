import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { binaryBody, pdfBytes } from './support/files.js';
import { startS3, type TestS3 } from './support/s3.js';

/** Deterministic text crossing the postgres driver's 256 KiB chunk boundary. */
const TEXT = Buffer.from(
  Array.from({ length: 20_000 }, (_, i) => `line ${String(i).padStart(5, '0')} of a shared file\n`).join(''),
);
const SIZE = TEXT.length;

/**
 * Downloads by link go through the owner's download code: ranges, conditions and (with
 * object storage) presigned redirects, with maxDownloads counted once per download, and a
 * resumed or split download from the same IP counted once.
 */
describe.each(['postgres', 's3'] as const)('link downloads with the %s driver', (driver) => {
  let s3: TestS3 | undefined;
  let t: TestApp;
  let owner: Account;
  let docId: string;
  let ipCounter = 0;
  /** A fresh caller address for each use, so no test sees another's resume window or limits. */
  const newIp = () => `198.18.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

  beforeAll(async () => {
    if (driver === 's3') s3 = await startS3();
    t = await startTestApp({ env: { ...s3?.env, TRUST_PROXY: '1', DOWNLOAD_URL_TTL_SECONDS: '300' } });
    owner = await signUp(t);
    docId = await upload(TEXT, 'lines.txt', 'text/plain');
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  async function upload(data: Buffer, filename: string, contentType: string): Promise<string> {
    const res = await t.http
      .post('/documents')
      .set(bearer(owner.access))
      .attach('file', data, { filename, contentType })
      .expect(201);
    return res.body.id;
  }
  const createLink = async (body: Record<string, unknown> = {}) =>
    (await t.http.post(`/documents/${docId}/links`).set(bearer(owner.access)).send(body).expect(201)).body as {
      id: string;
      token: string;
    };
  const download = (token: string, ip: string, headers: Record<string, string> = {}, query = '') =>
    t.http
      .get(`/s/${token}/content${query}`)
      .set('x-forwarded-for', ip)
      .set(headers)
      .redirects(0)
      .buffer(true)
      .parse(binaryBody);
  const downloads = async (linkId: string) =>
    (await t.app.get(DataSource).query('SELECT downloads FROM document_links WHERE id = $1', [linkId]))[0]
      .downloads as number;

  it('answers one Range with 206 and Content-Range, as the owner’s download does', async () => {
    const link = await createLink();
    for (const [range, start, end] of [
      ['bytes=0-9', 0, 9],
      ['bytes=262140-262150', 262140, 262150],
      [`bytes=${SIZE - 100}-`, SIZE - 100, SIZE - 1],
      ['bytes=-7', SIZE - 7, SIZE - 1],
    ] as const) {
      const res = await download(link.token, newIp(), { range }).expect(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Buffer.compare(res.body, TEXT.subarray(start, end + 1))).toBe(0);
    }
    const whole = await download(link.token, newIp()).expect(200);
    expect(Buffer.compare(whole.body, TEXT)).toBe(0);
    expect(whole.headers.etag).toMatch(/^"[0-9a-f]{64}"$/);
  });

  it('answers an unsatisfiable range with 416 and Content-Range: bytes */size, and counts nothing', async () => {
    const link = await createLink({ maxDownloads: 1 });
    for (const range of [`bytes=${SIZE}-`, `bytes=${SIZE + 10}-${SIZE + 20}`, 'bytes=-0']) {
      const res = await download(link.token, newIp(), { range }).expect(416);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['content-range']).toBe(`bytes */${SIZE}`);
    }
    // If-None-Match with the current ETag: 304, not a download either.
    const etag = (await t.http.get(`/s/${link.token}`).expect(200)).body.sha256 as string;
    await download(link.token, newIp(), { 'if-none-match': `"${etag}"` }).expect(304);
    expect(await downloads(link.id)).toBe(0);
    await download(link.token, newIp()).expect(200);
    expect(await downloads(link.id)).toBe(1);
  });

  it('a download broken off and resumed from the same IP counts once, even when it used the link up', async () => {
    const link = await createLink({ maxDownloads: 1 });
    const me = newIp();
    // The first piece (as a client does that fetches in pieces, or whose connection broke).
    const first = await download(link.token, me, { range: 'bytes=0-99999' }).expect(206);
    expect(await downloads(link.id)).toBe(1);
    // The link is used up for everyone else: metadata, a whole download, a range from elsewhere.
    await t.http.get(`/s/${link.token}`).set('x-forwarded-for', newIp()).expect(404);
    await download(link.token, newIp()).expect(404);
    await download(link.token, newIp(), { range: 'bytes=100000-' }).expect(404);
    // The same caller resumes where it stopped, in two more pieces.
    const second = await download(link.token, me, { range: 'bytes=100000-199999' }).expect(206);
    const rest = await download(link.token, me, { range: 'bytes=200000-', 'if-range': first.headers.etag }).expect(206);
    expect(Buffer.compare(Buffer.concat([first.body, second.body, rest.body]), TEXT)).toBe(0);
    expect(await downloads(link.id)).toBe(1);
    // Starting over from byte 0 is a new download: the link has none left.
    await download(link.token, me).expect(404);
    await download(link.token, me, { range: 'bytes=0-10' }).expect(404);
  });

  it('a range from an IP that has not downloaded the link counts as a download', async () => {
    const link = await createLink({ maxDownloads: 2 });
    await download(link.token, newIp(), { range: 'bytes=1-' }).expect(206);
    await download(link.token, newIp(), { range: 'bytes=1-' }).expect(206);
    expect(await downloads(link.id)).toBe(2);
    await download(link.token, newIp(), { range: 'bytes=1-' }).expect(404);
  });

  it('takes the password in a POST body with a Range too', async () => {
    const link = await createLink({ password: 'range secret' });
    const res = await t.http
      .post(`/s/${link.token}/content`)
      .set('x-forwarded-for', newIp())
      .set('range', 'bytes=5-14')
      .send({ password: 'range secret' })
      .buffer(true)
      .parse(binaryBody)
      .expect(206);
    expect(res.body.toString()).toBe(TEXT.subarray(5, 15).toString());
    await download(link.token, newIp(), { range: 'bytes=5-14' }).expect(401);
  });

  if (driver === 's3') {
    it('?redirect=true or Accept: text/uri-list: 302 to a presigned URL that serves the bytes; each counts', async () => {
      const link = await createLink({ maxDownloads: 2 });
      for (const [headers, query] of [
        [{}, '?redirect=true'],
        [{ accept: 'text/uri-list' }, ''],
      ] as const) {
        const res = await download(link.token, newIp(), headers, query).expect(302);
        expect(res.headers['cache-control']).toBe('no-store');
        const url = res.headers.location as string;
        expect(url).toContain(s3!.env.S3_ENDPOINT);
        const fetched = await fetch(url, { headers: { range: 'bytes=10-19' } });
        expect(fetched.status).toBe(206);
        expect(Buffer.from(await fetched.arrayBuffer()).equals(TEXT.subarray(10, 20))).toBe(true);
      }
      expect(await downloads(link.id)).toBe(2);
      await download(link.token, newIp(), {}, '?redirect=true').expect(404);
    });

    it('a password link redirects only with the right password', async () => {
      const link = await createLink({ password: 'bucket pass' });
      await download(link.token, newIp(), {}, '?redirect=true').expect(401);
      const res = await download(link.token, newIp(), { 'x-link-password': 'bucket pass' }, '?redirect=true');
      expect(res.status).toBe(302);
    });
  } else {
    it('ignores ?redirect=true and sends the bytes (they are in PostgreSQL)', async () => {
      const link = await createLink();
      const res = await download(link.token, newIp(), {}, '?redirect=true').expect(200);
      expect(Buffer.compare(res.body, TEXT)).toBe(0);
    });
  }

  it('a PDF keeps its type and disposition through a link', async () => {
    const pdf = pdfBytes('linked pdf');
    const id = await upload(pdf, 'report.pdf', 'application/pdf');
    const link = (await t.http.post(`/documents/${id}/links`).set(bearer(owner.access)).send({}).expect(201)).body;
    const res = await download(link.token, newIp()).expect(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.headers['content-disposition']).toContain('report.pdf');
    expect(res.body.equals(pdf)).toBe(true);
  });
});
