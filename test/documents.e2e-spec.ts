import { request as httpRequest } from 'node:http';
import { DataSource } from 'typeorm';
import { chunkCount as chunksOf, storageKeys as storedKeys } from './support/stored-bytes.js';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, makeAdmin, signUp } from './support/auth.js';
import { ELF, INVALID_UTF8, PNG, pdfBytes, sha256 } from './support/files.js';
import { realPostgres } from './support/env.js';

const MAX = 64 * 1024;
const QUOTA = 200 * 1024;

describe('documents', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let admin: Account;

  beforeAll(async () => {
    t = await startTestApp({ env: { UPLOAD_MAX_BYTES: String(MAX), USER_QUOTA_BYTES: String(QUOTA) } });
    [alice, bob, admin] = [await signUp(t), await signUp(t), await signUp(t)];
    await makeAdmin(t, admin.id);
  });
  afterAll(() => t.close());

  const db = () => t.app.get(DataSource);
  const storageKeys = (id: string) => storedKeys(db(), id);
  const chunkCount = (keys: string[]) => chunksOf(db(), keys);
  const countDocs = async (ownerId: string) =>
    Number((await db().query('SELECT count(*) AS n FROM documents WHERE owner_id = $1', [ownerId]))[0].n);

  function upload(
    account: Account,
    data: Buffer,
    filename: string,
    contentType?: string,
    fields: Record<string, string> = {},
  ) {
    const req = t.http.post('/documents').set(bearer(account.access));
    for (const [name, value] of Object.entries(fields)) req.field(name, value);
    return req.attach('file', data, contentType ? { filename, contentType } : { filename });
  }

  describe('upload and download', () => {
    it('takes empty title and tags form fields (an untouched Swagger UI form) as not given', async () => {
      const created = await upload(alice, Buffer.from('from an untouched form\n'), 'untouched.txt', 'text/plain', {
        title: '',
        tags: '',
      }).expect(201);
      expect(created.body).toMatchObject({ title: 'untouched', filename: 'untouched.txt', tags: [] });
    });

    it.each([
      ['text/plain', 'notes.txt', Buffer.from('plain words, üñíçødé ✓\n')],
      ['text/markdown', 'readme.md', Buffer.from('# Title\n\n* a list\n')],
      ['text/csv', 'table.csv', Buffer.from('a,b,c\n1,2,3\n')],
      ['application/json', 'data.json', Buffer.from('{"k": [1, 2, {"x": null}]}')],
      ['application/pdf', 'paper.pdf', pdfBytes()],
    ])('%s round-trips byte for byte with a matching sha256', async (type, filename, data) => {
      const created = await upload(alice, data, filename, type, { title: `A ${type}`, tags: 'Round, trip' }).expect(
        201,
      );
      expect(created.body).toMatchObject({
        title: `A ${type}`,
        filename,
        mimeType: type,
        size: data.length,
        sha256: sha256(data),
        tags: ['round', 'trip'],
        version: 1,
      });
      expect(created.headers.location).toBe(`/documents/${created.body.id}`);

      const meta = await t.http.get(created.headers.location).set(bearer(alice.access)).expect(200);
      expect(meta.body).toEqual(created.body);

      const content = await t.http
        .get(`/documents/${created.body.id}/content`)
        .set(bearer(alice.access))
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => done(null, Buffer.concat(chunks)));
        })
        .expect(200);
      expect(Buffer.compare(content.body as Buffer, data)).toBe(0);
      expect(sha256(content.body as Buffer)).toBe(created.body.sha256);
      expect(content.headers['content-type']).toMatch(new RegExp(`^${type.replace('/', '\\/')}`));
      expect(content.headers['content-length']).toBe(String(data.length));
      expect(content.headers['content-disposition']).toBe(
        `attachment; filename="${filename}"; filename*=UTF-8''${filename}`,
      );
      expect(content.headers.etag).toBe(`"${sha256(data)}"`);
      expect(content.headers['x-content-type-options']).toBe('nosniff');
      expect(content.headers['cache-control']).toMatch(/private/);
    });

    it('takes a generic type from the extension, and the title from the file name', async () => {
      const res = await upload(alice, Buffer.from('{"a":1}'), 'config.json', 'application/octet-stream').expect(201);
      expect(res.body).toMatchObject({ mimeType: 'application/json', title: 'config' });
    });

    it('accepts JSON text uploads', async () => {
      const res = await t.http
        .post('/documents')
        .set(bearer(alice.access))
        .send({ title: 'Meeting notes', content: '# Agenda\n\nbudget', mimeType: 'text/markdown', tags: ['work'] })
        .expect(201);
      expect(res.body).toMatchObject({
        title: 'Meeting notes',
        filename: 'Meeting notes.md',
        mimeType: 'text/markdown',
        size: Buffer.byteLength('# Agenda\n\nbudget'),
        sha256: sha256('# Agenda\n\nbudget'),
        tags: ['work'],
      });
    });

    it.each([
      ['no title', { content: 'x' }, 'title'],
      ['a PDF type', { title: 'x', content: 'x', mimeType: 'application/pdf' }, 'mimeType'],
      ['an unknown field', { title: 'x', content: 'x', owner: 'someone' }, 'owner'],
      ['content that is not a string', { title: 'x', content: 42 }, 'content'],
      ['too many tags', { title: 'x', content: 'x', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    ])('refuses a JSON upload with %s (400)', async (_name, body, field) => {
      const before = await countDocs(alice.id);
      const res = await t.http.post('/documents').set(bearer(alice.access)).send(body).expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await countDocs(alice.id)).toBe(before);
    });

    it('refuses a form without a file, with two files, or with an unknown field', async () => {
      const before = await countDocs(alice.id);
      const noFile = await t.http.post('/documents').set(bearer(alice.access)).field('title', 'no file').expect(400);
      expect(noFile.headers['content-type']).toMatch(/problem\+json/);
      expect(noFile.body).toMatchObject({ status: 400, errors: [expect.objectContaining({ field: 'file' })] });
      const two = await t.http
        .post('/documents')
        .set(bearer(alice.access))
        .attach('file', Buffer.from('a'), 'a.txt')
        .attach('file', Buffer.from('b'), 'b.txt');
      expect([400, 413]).toContain(two.status);
      expect(two.headers['content-type']).toMatch(/problem\+json/);
      expect(two.body).toMatchObject({ status: two.status, detail: expect.any(String) });
      const unknown = await upload(alice, Buffer.from('x'), 'x.txt', 'text/plain', { colour: 'red' }).expect(400);
      expect(unknown.body).toMatchObject({ status: 400, errors: [expect.objectContaining({ field: 'colour' })] });
      expect(await countDocs(alice.id)).toBe(before);
    });
  });

  describe('limits', () => {
    it(`stores a file of exactly UPLOAD_MAX_BYTES, refuses one byte more with 413 and stores nothing`, async () => {
      const user = await signUp(t);
      await upload(user, Buffer.alloc(MAX, 'a'), 'max.txt', 'text/plain').expect(201);
      const res = await upload(user, Buffer.alloc(MAX + 1, 'a'), 'over.txt', 'text/plain');
      expect(res.status).toBe(413);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(await countDocs(user.id)).toBe(1);
      await t.http.get('/health').expect(200);
    });

    it('refuses a JSON body over 1 MiB with 413', async () => {
      const res = await t.http
        .post('/documents')
        .set(bearer(alice.access))
        .send({ title: 'big', content: 'x'.repeat(1024 * 1024 + 1) });
      expect(res.status).toBe(413);
    });

    // On the embedded database the two transactions run one after the other: this checks the
    // quota arithmetic; the row lock is proven by the real-PostgreSQL test below.
    it('lets only one of two concurrent uploads past the quota', async () => {
      const user = await signUp(t);
      // 3 x 60 KiB fit in 200 KiB; a fourth would not.
      for (let i = 0; i < 2; i++)
        await upload(user, Buffer.alloc(60 * 1024, 'q'), `q${i}.txt`, 'text/plain').expect(201);
      const results = await Promise.all([
        upload(user, Buffer.alloc(60 * 1024, 'r'), 'r1.txt', 'text/plain'),
        upload(user, Buffer.alloc(60 * 1024, 's'), 'r2.txt', 'text/plain'),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 413]);
      expect(await countDocs(user.id)).toBe(3);
      const [{ used }] = await db().query('SELECT sum(size)::int AS used FROM documents WHERE owner_id = $1', [
        user.id,
      ]);
      expect(used).toBeLessThanOrEqual(QUOTA);
    });

    // Not registered on the embedded database, where nothing runs concurrently.
    if (realPostgres)
      it('lets exactly three of eight truly concurrent uploads past the quota (real PostgreSQL only: the row lock)', async () => {
        const user = await signUp(t);
        // 3 x 60 KiB fit in 200 KiB: all eight start together, on their own connections.
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => upload(user, Buffer.alloc(60 * 1024, 'c'), `c${i}.txt`, 'text/plain')),
        );
        expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 413, 413, 413, 413, 413]);
        for (const refused of results.filter((r) => r.status === 413)) {
          expect(refused.body).toMatchObject({ status: 413, detail: expect.stringMatching(/quota/i) });
        }
        expect(await countDocs(user.id)).toBe(3);
      });

    it('counts trashed documents toward the quota until they are deleted for good', async () => {
      const user = await signUp(t);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await upload(user, Buffer.alloc(60 * 1024, 'z'), `z${i}.txt`, 'text/plain').expect(201)).body.id);
      }
      await upload(user, Buffer.alloc(60 * 1024, 'z'), 'z3.txt', 'text/plain').expect(413);
      await t.http.delete(`/documents/${ids[0]}`).set(bearer(user.access)).expect(204);
      await upload(user, Buffer.alloc(60 * 1024, 'z'), 'z3.txt', 'text/plain').expect(413);
      await t.http.delete(`/documents/${ids[0]}?permanent=true`).set(bearer(user.access)).expect(204);
      await upload(user, Buffer.alloc(60 * 1024, 'z'), 'z3.txt', 'text/plain').expect(201);
    });
  });

  describe('content checks (415)', () => {
    it.each([
      ['a PNG renamed .txt', PNG, 'picture.txt', 'text/plain'],
      ['a PNG renamed .txt, type left to the server', PNG, 'picture.txt', 'application/octet-stream'],
      ['an ELF binary renamed .txt', ELF, 'program.txt', 'text/plain'],
      ['invalid UTF-8 as text/plain', INVALID_UTF8, 'broken.txt', 'text/plain'],
      ['a declared image/png', PNG, 'image.png', 'image/png'],
      ['text declared as PDF', Buffer.from('not a pdf'), 'fake.pdf', 'application/pdf'],
      ['a PDF declared as text', pdfBytes(), 'paper.txt', 'text/plain'],
      ['invalid JSON', Buffer.from('{"a": '), 'bad.json', 'application/json'],
    ])('refuses %s and stores nothing', async (_name, data, filename, type) => {
      const before = await countDocs(alice.id);
      const res = await upload(alice, data, filename, type).expect(415);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(await countDocs(alice.id)).toBe(before);
    });
  });

  describe('file names', () => {
    it('strips path parts and control characters, keeps quotes and non-ASCII, and encodes the header safely', async () => {
      const raw = '../../etc/"quoted"\r\nname ünïcødé 文件.txt';
      const created = await upload(alice, Buffer.from('hi'), raw, 'text/plain').expect(201);
      expect(created.body.filename).toBe('"quoted"name ünïcødé 文件.txt');
      const res = await t.http.get(`/documents/${created.body.id}/content`).set(bearer(alice.access)).expect(200);
      const header = res.headers['content-disposition'];
      expect(header).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]+$/);
      expect(header).not.toMatch(/[\r\n]/);
      const encoded = /filename\*=UTF-8''(.+)$/.exec(header)![1];
      expect(decodeURIComponent(encoded)).toBe('"quoted"name ünïcødé 文件.txt');
      expect(/filename="([^"]*)"/.exec(header)![1]).toBe('_quoted_name _n_c_d_ __.txt');
    });

    it('bounds a very long name to 255 bytes, keeping the extension', async () => {
      const created = await upload(alice, Buffer.from('hi'), `${'é'.repeat(300)}.md`, 'text/markdown').expect(201);
      expect(Buffer.byteLength(created.body.filename)).toBeLessThanOrEqual(255);
      expect(created.body.filename.endsWith('.md')).toBe(true);
    });
  });

  describe('aborted uploads', () => {
    it('stores nothing when the client goes away mid-upload, and the server carries on', async () => {
      const user = await signUp(t);
      const address = t.app.getHttpServer().address();
      if (!address || typeof address === 'string') await t.app.listen(0, '127.0.0.1');
      const { port } = t.app.getHttpServer().address() as { port: number };
      const chunksBefore = Number((await db().query('SELECT count(*)::int AS n FROM storage_chunks'))[0].n);
      const boundary = '----ultrai-abort';
      await new Promise<void>((resolve) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/documents',
          headers: {
            ...bearer(user.access),
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': String(600_000),
          },
        });
        req.on('error', () => resolve());
        req.write(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.txt"\r\nContent-Type: text/plain\r\n\r\n`,
        );
        // More than one 256 KiB chunk, so the postgres driver has written bytes when the client goes.
        req.write('a'.repeat(300_000));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
      // The server has seen the client go (its side of the socket is closed), and whatever
      // bytes it had written are gone again: nothing of the upload is left anywhere.
      const server = t.app.getHttpServer();
      const allChunks = async () => Number((await db().query('SELECT count(*)::int AS n FROM storage_chunks'))[0].n);
      for (;;) {
        const open = await new Promise<number>((resolve, reject) =>
          server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
        );
        if (open === 0 && (await allChunks()) === chunksBefore) break;
        await new Promise((r) => setImmediate(r));
      }
      expect(await countDocs(user.id)).toBe(0);
      await t.http.get('/health').expect(200);
      await upload(user, Buffer.from('after'), 'after.txt', 'text/plain').expect(201);
    });
  });

  describe('listing and search', () => {
    let carol: Account;
    beforeAll(async () => {
      carol = await signUp(t);
      await upload(
        carol,
        Buffer.from('Gardening tips: tomatoes need sun. Tomatoes, tomatoes!'),
        'garden.txt',
        'text/plain',
        {
          title: 'Vegetables',
          tags: 'garden',
        },
      ).expect(201);
      await upload(carol, Buffer.from('A recipe that uses one tomato and basil.'), 'recipe.md', 'text/markdown', {
        title: 'Pasta',
        tags: 'kitchen',
      }).expect(201);
      await upload(carol, Buffer.from('Nothing relevant here at all.'), 'other.txt', 'text/plain', {
        title: 'Tomato harvest log',
        tags: 'garden,log',
      }).expect(201);
      await upload(carol, Buffer.from('Quarterly numbers'), 'numbers.csv', 'text/csv', { title: 'Budget' }).expect(201);
    });

    it('finds a word from the content, ranked by relevance (title above text, more above fewer)', async () => {
      const res = await t.http.get('/documents?q=tomato').set(bearer(carol.access)).expect(200);
      expect(res.body.items.map((d: { title: string }) => d.title)).toEqual([
        'Tomato harvest log',
        'Vegetables',
        'Pasta',
      ]);
      // Its own user, so carol's documents stay as the other tests expect them.
      const dave = await signUp(t);
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Zucchini first, then more.')]);
      await upload(dave, bom, 'bom.txt', 'text/plain', { title: 'With a byte order mark' }).expect(201);
      const first = await t.http.get('/documents?q=zucchini').set(bearer(dave.access)).expect(200);
      expect(first.body.items.map((d: { title: string }) => d.title)).toEqual(['With a byte order mark']);
      const none = await t.http.get('/documents?q=zeppelin').set(bearer(carol.access)).expect(200);
      expect(none.body).toEqual({ items: [], nextCursor: null });
    });

    it('pages through search results without repeats', async () => {
      const first = await t.http.get('/documents?q=tomato&limit=2').set(bearer(carol.access)).expect(200);
      const second = await t.http
        .get(`/documents?q=tomato&limit=2&cursor=${first.body.nextCursor}`)
        .set(bearer(carol.access))
        .expect(200);
      expect([...first.body.items, ...second.body.items].map((d: { title: string }) => d.title)).toEqual([
        'Tomato harvest log',
        'Vegetables',
        'Pasta',
      ]);
      expect(second.body.nextCursor).toBeNull();
    });

    it('filters by tag and sorts by title either way', async () => {
      const garden = await t.http.get('/documents?tag=garden&sort=title').set(bearer(carol.access)).expect(200);
      expect(garden.body.items.map((d: { title: string }) => d.title)).toEqual(['Tomato harvest log', 'Vegetables']);
      const desc = await t.http.get('/documents?sort=-title').set(bearer(carol.access)).expect(200);
      expect(desc.body.items.map((d: { title: string }) => d.title)).toEqual([
        'Vegetables',
        'Tomato harvest log',
        'Pasta',
        'Budget',
      ]);
      const asc = await t.http.get('/documents?sort=createdAt').set(bearer(carol.access)).expect(200);
      expect(asc.body.items.map((d: { title: string }) => d.title)).toEqual([
        'Vegetables',
        'Pasta',
        'Tomato harvest log',
        'Budget',
      ]);
    });

    it('never reads the bytes or the text for a list', async () => {
      const res = await t.http.get('/documents').set(bearer(carol.access)).expect(200);
      expect(res.body.items).toHaveLength(4);
      for (const item of res.body.items) {
        expect(Object.keys(item).sort()).toEqual(
          [
            'access',
            'createdAt',
            'filename',
            'id',
            'mimeType',
            'ownerId',
            'sha256',
            'size',
            'tags',
            'textStatus',
            'title',
            'updatedAt',
            'version',
          ].sort(),
        );
      }
    });

    it('pages over more than two pages, stable while documents are inserted', async () => {
      const dave = await signUp(t);
      const originals: string[] = [];
      for (let i = 0; i < 7; i++) {
        originals.push((await upload(dave, Buffer.from(`doc ${i}`), `d${i}.txt`, 'text/plain').expect(201)).body.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: { body: { items: Array<{ id: string }>; nextCursor: string | null } } = await t.http
          .get(`/documents?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
          .set(bearer(dave.access))
          .expect(200);
        seen.push(...res.body.items.map((d) => d.id));
        cursor = res.body.nextCursor;
        pages += 1;
        // a new document arrives between pages
        await upload(dave, Buffer.from(`late ${pages}`), `late${pages}.txt`, 'text/plain').expect(201);
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...originals].reverse());
    });

    it('refuses bad list parameters with 400', async () => {
      for (const query of ['limit=0', 'limit=101', 'sort=size', 'cursor=abc', 'owner=nope', 'tag=a,b', 'extra=1']) {
        const res = await t.http.get(`/documents?${query}`).set(bearer(carol.access));
        expect({ query, status: res.status }).toEqual({ query, status: 400 });
      }
      const first = await t.http.get('/documents?limit=1').set(bearer(carol.access)).expect(200);
      await t.http
        .get(`/documents?limit=1&sort=title&cursor=${first.body.nextCursor}`)
        .set(bearer(carol.access))
        .expect(400);
    });
  });

  describe('the same list query from two users', () => {
    it('gives each their own documents, and refuses a bad one every time (validated queries are remembered)', async () => {
      const users = [await signUp(t), await signUp(t)];
      for (const [i, user] of users.entries()) {
        await t.http
          .post('/documents')
          .set(bearer(user.access))
          .send({ title: `Own note ${i}`, content: 'mine', tags: ['Mine'] })
          .expect(201);
      }
      for (const user of users) {
        const res = await t.http.get('/documents?limit=5&sort=title&tag=MINE').set(bearer(user.access)).expect(200);
        expect(res.body.items.map((d: { ownerId: string }) => d.ownerId)).toEqual([user.id]);
        for (let i = 0; i < 2; i++) {
          await t.http.get('/documents?limit=0&sort=title').set(bearer(user.access)).expect(400);
        }
      }
    });
  });

  describe('caching headers and versions', () => {
    it('answers If-None-Match with the sha256 ETag by 304, and anything else by 200', async () => {
      const created = await upload(alice, Buffer.from('etag me'), 'e.txt', 'text/plain').expect(201);
      const path = `/documents/${created.body.id}/content`;
      const etag = `"${created.body.sha256}"`;
      const notModified = await t.http.get(path).set(bearer(alice.access)).set('if-none-match', etag).expect(304);
      expect(notModified.headers.etag).toBe(etag);
      expect(notModified.text ?? '').toBe('');
      await t.http.get(path).set(bearer(alice.access)).set('if-none-match', `"x", W/${etag}`).expect(304);
      await t.http.get(path).set(bearer(alice.access)).set('if-none-match', '"something-else"').expect(200);
    });

    it('PATCH changes title and tags, bumps the version, and refuses a stale If-Match with 412', async () => {
      const created = await upload(alice, Buffer.from('v'), 'v.txt', 'text/plain', { title: 'Draft' }).expect(201);
      const path = `/documents/${created.body.id}`;
      const v2 = await t.http
        .patch(path)
        .set(bearer(alice.access))
        .set('if-match', '"1"')
        .send({ title: 'Final', tags: ['Done'] })
        .expect(200);
      expect(v2.body).toMatchObject({ title: 'Final', tags: ['done'], version: 2, sha256: created.body.sha256 });
      expect(v2.headers.etag).toBe('"2"');
      const stale = await t.http
        .patch(path)
        .set(bearer(alice.access))
        .set('if-match', '"1"')
        .send({ title: 'Lost update' });
      expect(stale.status).toBe(412);
      expect(stale.headers['content-type']).toMatch(/problem\+json/);
      await t.http.patch(path).set(bearer(alice.access)).send({ tags: [] }).expect(200);
      const now = await t.http.get(path).set(bearer(alice.access)).expect(200);
      expect(now.body).toMatchObject({ title: 'Final', tags: [], version: 3 });
      expect(now.headers.etag).toBe('"3"');
      await t.http.patch(path).set(bearer(alice.access)).send({}).expect(400);
      await t.http.patch(path).set(bearer(alice.access)).send({ title: '' }).expect(400);
      await t.http.patch(path).set(bearer(alice.access)).send({ size: 1 }).expect(400);
      await t.http.patch(path).set(bearer(alice.access)).send({ title: null }).expect(400);
      await t.http
        .patch(path)
        .set(bearer(alice.access))
        .send({ tags: ['a\u0000b'] })
        .expect(400);
    });

    it('DELETE moves it to the trash (204, then 404); ?permanent=true removes its bytes too', async () => {
      const created = await upload(alice, Buffer.from('bye'), 'bye.txt', 'text/plain').expect(201);
      const keys = await storageKeys(created.body.id);
      expect(await chunkCount(keys)).toBeGreaterThan(0);
      await t.http.delete(`/documents/${created.body.id}`).set(bearer(alice.access)).expect(204);
      await t.http.get(`/documents/${created.body.id}`).set(bearer(alice.access)).expect(404);
      // In the trash: the bytes stay until it is deleted for good.
      expect(await chunkCount(keys)).toBeGreaterThan(0);
      await t.http.delete(`/documents/${created.body.id}?permanent=true`).set(bearer(alice.access)).expect(204);
      expect(await chunkCount(keys)).toBe(0);
    });
  });

  describe('ownership', () => {
    let secret: { id: string };
    beforeAll(async () => {
      secret = (await upload(alice, Buffer.from('alice only'), 'private.txt', 'text/plain').expect(201)).body;
    });

    it("another user's document is a 404 for read, content, patch and delete", async () => {
      const path = `/documents/${secret.id}`;
      for (const call of [
        t.http.get(path),
        t.http.get(`${path}/content`),
        t.http.patch(path).send({ title: 'mine now' }),
        t.http.delete(path),
      ]) {
        const res = await call.set(bearer(bob.access));
        expect(res.status).toBe(404);
      }
      await t.http.get(path).set(bearer(alice.access)).expect(200);
      const list = await t.http.get('/documents').set(bearer(bob.access)).expect(200);
      expect(list.body.items.map((d: { id: string }) => d.id)).not.toContain(secret.id);
      await t.http.get(`/documents?owner=${alice.id}`).set(bearer(bob.access)).expect(403);
    });

    it('an administrator can read it and list the owner’s documents', async () => {
      await t.http.get(`/documents/${secret.id}`).set(bearer(admin.access)).expect(200);
      await t.http.get(`/documents/${secret.id}/content`).set(bearer(admin.access)).expect(200);
      const list = await t.http.get(`/documents?owner=${alice.id}&limit=100`).set(bearer(admin.access)).expect(200);
      expect(list.body.items.map((d: { id: string }) => d.id)).toContain(secret.id);
    });

    it("an administrator can delete another user's document; the owner then gets 404", async () => {
      const owner = await signUp(t);
      const doc = (await upload(owner, Buffer.from('to be removed'), 'gone.txt', 'text/plain').expect(201)).body;
      await t.http.get(`/documents/${doc.id}`).set(bearer(owner.access)).expect(200);
      await t.http.delete(`/documents/${doc.id}`).set(bearer(admin.access)).expect(204);
      const gone = await t.http.get(`/documents/${doc.id}`).set(bearer(owner.access)).expect(404);
      expect(gone.body).toMatchObject({ status: 404, type: 'urn:ultrai:problem:not-found' });
      expect((await t.http.get('/documents').set(bearer(owner.access)).expect(200)).body.items).toEqual([]);
      const trash = await t.http.get('/documents/trash').set(bearer(owner.access)).expect(200);
      expect(trash.body.items.map((d: { id: string }) => d.id)).toEqual([doc.id]);
    });

    it('a malformed id is a 400, an unknown one a 404, and no token a 401', async () => {
      await t.http.get('/documents/not-a-uuid').set(bearer(alice.access)).expect(400);
      await t.http.get('/documents/00000000-0000-4000-8000-000000000000/content').set(bearer(alice.access)).expect(404);
      await t.http.get('/documents').expect(401);
      await t.http.post('/documents').attach('file', Buffer.from('x'), 'x.txt').expect(401);
    });

    it('deleting the account removes its documents and their bytes', async () => {
      const erin = await signUp(t);
      const doc = (await upload(erin, Buffer.from('gone soon'), 'g.txt', 'text/plain').expect(201)).body;
      const keys = await storageKeys(doc.id);
      expect(await chunkCount(keys)).toBeGreaterThan(0);
      await t.http.delete('/users/me').set(bearer(erin.access)).send({ password: erin.password }).expect(204);
      expect(await countDocs(erin.id)).toBe(0);
      expect(await chunkCount(keys)).toBe(0);
    });
  });

  it('is documented as a multipart upload with a file field, and as JSON', async () => {
    const doc = (await t.http.get('/docs/openapi.json').expect(200)).body;
    const content = doc.paths['/documents'].post.requestBody.content;
    expect(content['multipart/form-data'].schema.properties.file).toEqual(
      expect.objectContaining({ type: 'string', format: 'binary' }),
    );
    expect(content['application/json'].schema.$ref).toBe('#/components/schemas/CreateTextDocumentDto');
  });
});
