import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from './support/app.js';
import { pdfBytes } from './support/files.js';
import { type Account, bearer, logIn, makeAdmin, signUp } from './support/auth.js';

const cursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

function expectBadCursor(res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }) {
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: 'urn:ultrai:problem:validation-failed',
    errors: [{ field: 'cursor', message: expect.any(String) }],
  });
}

describe('forged input', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    t = await startTestApp();
    alice = await signUp(t);
    await makeAdmin(t, alice.id);
  });
  afterAll(() => t.close());

  // Well-formed cursors (the right shape and types) whose values PostgreSQL cannot take.
  const BAD_DATES = {
    'year 0000': '0000-01-01T00:00:00.000Z',
    'February 30': '2024-02-30T00:00:00.000Z',
    'hour 24': '2024-01-01T24:00:00.000Z',
    'a NUL': '2024-01-01T00:00:00.000Z\u0000',
  };

  describe('cursors', () => {
    it.each(Object.entries(BAD_DATES))('a date with %s is a 400 on every list', async (_label, date) => {
      const id = randomUUID();
      expectBadCursor(
        await t.http.get(`/documents?cursor=${cursor(['-createdAt', date, id])}`).set(bearer(alice.access)),
      );
      expectBadCursor(
        await t.http
          .get(`/documents?sort=createdAt&cursor=${cursor(['createdAt', date, id])}`)
          .set(bearer(alice.access)),
      );
      expectBadCursor(await t.http.get(`/auth/sessions?cursor=${cursor([date, id])}`).set(bearer(alice.access)));
      expectBadCursor(await t.http.get(`/users?cursor=${cursor([date, id])}`).set(bearer(alice.access)));
    });

    it.each([
      ['1e39 (over the range of real)', 1e39],
      ['-1', -1],
      ['1e-50 (under the range of real)', 1e-50],
    ])('a search rank of %s is a 400', async (_label, rank) => {
      const res = await t.http
        .get(`/documents?q=notes&cursor=${cursor(['rank', rank, randomUUID()])}`)
        .set(bearer(alice.access));
      expectBadCursor(res);
    });

    it('a title with a NUL or a lone surrogate is a 400', async () => {
      for (const title of ['a\u0000b', '\ud800x']) {
        const res = await t.http
          .get(`/documents?sort=title&cursor=${cursor(['title', title, randomUUID()])}`)
          .set(bearer(alice.access));
        expectBadCursor(res);
      }
    });

    it('the cursors the API hands out still page through every list', async () => {
      for (let i = 0; i < 3; i++) {
        await t.http
          .post('/documents')
          .set(bearer(alice.access))
          .send({ title: `notes ${i}`, content: `notes number ${i}` })
          .expect(201);
      }
      for (const query of ['', '&sort=createdAt', '&sort=title', '&q=notes']) {
        const seen: string[] = [];
        let next: string | null = '';
        while (next !== null) {
          const page: { items: Array<{ id: string }>; nextCursor: string | null } = (
            await t.http
              .get(`/documents?limit=1${query}${next ? `&cursor=${next}` : ''}`)
              .set(bearer(alice.access))
              .expect(200)
          ).body;
          seen.push(...page.items.map((d) => d.id));
          next = page.nextCursor;
        }
        expect(new Set(seen).size).toBe(3);
      }
      await logIn(t, alice.email, alice.password);
      const first = await t.http.get('/auth/sessions?limit=1').set(bearer(alice.access)).expect(200);
      const second = await t.http
        .get(`/auth/sessions?limit=1&cursor=${first.body.nextCursor}`)
        .set(bearer(alice.access))
        .expect(200);
      expect(second.body.items).toHaveLength(1);
      expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    });
  });

  describe('file names', () => {
    async function uploadAndDownload(filename: string, data: string | Buffer, contentType = 'text/plain') {
      const created = await t.http
        .post('/documents')
        .set(bearer(alice.access))
        .attach('file', Buffer.from(data), { filename, contentType })
        .expect(201);
      const content = await t.http.get(`/documents/${created.body.id}/content`).set(bearer(alice.access)).expect(200);
      return { stored: created.body.filename as string, disposition: content.headers['content-disposition'] };
    }

    it.each([
      ['x.html', 'text/plain', 'x.html.txt', '<script>alert(1)</script>'],
      ['pic.svg', 'text/plain', 'pic.svg.txt', '<svg onload="alert(1)"/>'],
      ['evil.hta', 'text/plain', 'evil.hta.txt', 'text'],
      ['run.bat', 'text/plain', 'run.bat.txt', 'del *'],
      ['page.htm', 'text/markdown', 'page.htm.md', '# title'],
      ['notes.md', 'text/markdown', 'notes.md', '# title'],
      ['table.csv', 'text/csv', 'table.csv', 'a,b\n1,2\n'],
      ['data.json', 'application/json', 'data.json', '{"a":1}'],
      ['NOTES.TXT', 'text/plain', 'NOTES.TXT', 'hello'],
      ['paper.pdf', 'application/pdf', 'paper.pdf', pdfBytes()],
    ])('%s sent as %s is stored and downloaded as %s', async (filename, type, expected, data) => {
      const { stored, disposition } = await uploadAndDownload(filename, data, type);
      expect(stored).toBe(expected);
      expect(disposition).toBe(`attachment; filename="${expected}"; filename*=UTF-8''${encodeURIComponent(expected)}`);
    });

    it('strips bidirectional and zero-width characters from the stored and downloaded name', async () => {
      const { stored, disposition } = await uploadAndDownload('in\u200Bvoice\u202Efdp.\u2066txt\u061C', 'hello');
      expect(stored).toBe('invoicefdp.txt');
      expect(disposition).toBe(`attachment; filename="invoicefdp.txt"; filename*=UTF-8''invoicefdp.txt`);
    });
  });
});
