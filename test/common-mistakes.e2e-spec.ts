import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { ELF, PNG } from './support/files.js';

/** What a newcomer gets wrong first, and the answer that tells them how to get it right. */
describe('clear answers to common mistakes', () => {
  let t: TestApp;
  let me: Account;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp();
    me = await signUp(t);
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(() => t.close());

  const REGISTER = JSON.stringify({
    email: 'typed@example.com',
    username: 'typed',
    password: 'a long enough password',
  });

  /** A raw request, so that no Content-Type is added behind our back. */
  function raw(
    method: string,
    path: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, {
        method,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            type: res.headers['content-type'] ?? '',
            body: text ? JSON.parse(text) : {},
          }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  describe('a JSON body without Content-Type: application/json', () => {
    it.each([
      ['text/plain', { 'content-type': 'text/plain' }],
      ['text/plain with a charset', { 'content-type': 'text/plain; charset=utf-8' }],
      ['a form type', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['no Content-Type at all', {}],
    ])('sent as %s is a 415 that says what to send, and stores nothing', async (_name, headers) => {
      const res = await raw('POST', '/auth/register', REGISTER, headers);
      expect(res.status).toBe(415);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 415, type: 'urn:ultrai:problem:unsupported-media-type' });
      expect(res.body.detail).toContain('Content-Type: application/json');
      await t.http
        .post('/auth/login')
        .send({ email: 'typed@example.com', password: 'a long enough password' })
        .expect(401);
    });

    it('to POST /documents also names the multipart form', async () => {
      const res = await raw('POST', '/documents', JSON.stringify({ title: 'x', content: 'y' }), {
        'content-type': 'text/plain',
        ...bearer(me.access),
      });
      expect(res.status).toBe(415);
      expect(res.body.detail).toContain('Content-Type: application/json');
      expect(res.body.detail).toContain('multipart/form-data');
    });

    it('is no problem when there is no body at all', async () => {
      const mine = await signUp(t);
      const res = await raw('POST', '/auth/logout', '', { 'content-type': 'text/plain', ...bearer(mine.access) });
      expect(res.status).toBe(204);
    });
  });

  describe('If-Match without quotes', () => {
    it('is taken as the version: If-Match: 1 changes version 1, and a stale one is a true 412', async () => {
      const created = await t.http.post('/documents').set(bearer(me.access)).send({ title: 'v1', content: 'x' });
      const path = `/documents/${created.body.id}`;
      const res = await t.http
        .patch(path)
        .set(bearer(me.access))
        .set('if-match', '1')
        .send({ title: 'v2' })
        .expect(200);
      expect(res.body).toMatchObject({ title: 'v2', version: 2 });
      const stale = await t.http.patch(path).set(bearer(me.access)).set('if-match', '1').send({ title: 'lost' });
      expect(stale.status).toBe(412);
      expect((await t.http.get(path).set(bearer(me.access))).body).toMatchObject({ title: 'v2', version: 2 });
    });

    it('anything else that is not a version is a 400 showing the expected form, not a 412', async () => {
      const created = await t.http.post('/documents').set(bearer(me.access)).send({ title: 'v1', content: 'x' });
      const res = await t.http
        .patch(`/documents/${created.body.id}`)
        .set(bearer(me.access))
        .set('if-match', 'version one')
        .send({ title: 'v2' });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toContain('If-Match: "1"');
    });
  });

  describe('an upload refused for its content', () => {
    const upload = (data: Buffer, filename: string, contentType: string) =>
      t.http.post('/documents').set(bearer(me.access)).attach('file', data, { filename, contentType });

    it('names what the bytes look like, and the accepted types', async () => {
      const res = await upload(PNG, 'holiday.txt', 'text/plain').expect(415);
      expect(res.body.detail).toMatch(/looks like a PNG image/);
      expect(res.body.detail).toContain('text/plain as declared');
      expect(res.body.detail).toMatch(/text\/plain, text\/markdown, text\/csv, application\/json, application\/pdf/);
    });

    it('does not say the client declared a type it never declared', async () => {
      const res = await upload(ELF, 'program.txt', 'application/octet-stream').expect(415);
      expect(res.body.detail).toMatch(/looks like an ELF executable/);
      expect(res.body.detail).not.toMatch(/declared/);
      expect(res.body.detail).toContain('.txt');
      const unnamed = await upload(PNG, 'picture', 'application/octet-stream').expect(415);
      expect(unnamed.body.detail).toMatch(/looks like a PNG image/);
      expect(unnamed.body.detail).not.toMatch(/text\/plain(?!,)/);
    });
  });
});
