import { deflateSync } from 'node:zlib';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { PdfTextJobs } from '../src/pdf-text/pdf-text-jobs.js';
import { pdfDocument } from './support/files.js';
import { realPostgres } from './support/env.js';
import { type Spawned, startMain } from './support/process.js';

interface Doc {
  id: string;
  textStatus: string;
}

const MAX_PAGES = 3;
const MAX_CHARS = 1000;
/** Longer than any test: a status left stale in the cache would never expire during one. */
const CACHE_TTL_MS = '600000';

/** Reads the document until its text is no longer pending (the extraction runs outside the request). */
async function settled(t: TestApp, account: Account, id: string): Promise<Doc> {
  for (;;) {
    const res = await t.http.get(`/documents/${id}`).set(bearer(account.access)).expect(200);
    if (res.body.textStatus !== 'pending') return res.body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function uploadPdf(t: TestApp, account: Account, data: Buffer, filename = 'file.pdf') {
  return t.http
    .post('/documents')
    .set(bearer(account.access))
    .attach('file', data, { filename, contentType: 'application/pdf' })
    .expect(201);
}

async function search(t: TestApp, account: Account, q: string): Promise<string[]> {
  const res = await t.http
    .get(`/documents?q=${encodeURIComponent(q)}`)
    .set(bearer(account.access))
    .expect(200);
  return res.body.items.map((d: Doc) => d.id);
}

describe('PDF text', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        PDF_TEXT_MAX_PAGES: String(MAX_PAGES),
        PDF_TEXT_MAX_CHARS: String(MAX_CHARS),
        PDF_TEXT_MEMORY_MB: '32',
        PDF_TEXT_POLL_INTERVAL_MS: '100',
        CACHE_TTL_MS,
      },
    });
    alice = await signUp(t);
  });
  afterAll(() => t.close());

  it('extracts a PDF’s text in the background: pending, then indexed and found by search', async () => {
    const pdf = pdfDocument([['Minutes of the lighthouse keepers'], ['Agenda: zeppelin maintenance']]);
    const created = await uploadPdf(t, alice, pdf, 'minutes.pdf');
    expect(created.body).toMatchObject({ mimeType: 'application/pdf', textStatus: 'pending' });
    expect((await settled(t, alice, created.body.id)).textStatus).toBe('indexed');
    expect(await search(t, alice, 'zeppelin')).toEqual([created.body.id]);
    expect(await search(t, alice, 'lighthouse keepers')).toEqual([created.body.id]);
    const list = await t.http.get('/documents').set(bearer(alice.access)).expect(200);
    expect(list.body.items.find((d: Doc) => d.id === created.body.id).textStatus).toBe('indexed');
  });

  it('a new PDF version is extracted again, from the stored version: search finds the new text only', async () => {
    const first = await uploadPdf(t, alice, pdfDocument([['the first draft mentions a marmoset']]), 'draft.pdf');
    expect((await settled(t, alice, first.body.id)).textStatus).toBe('indexed');
    expect(await search(t, alice, 'marmoset')).toEqual([first.body.id]);

    const second = await t.http
      .put(`/documents/${first.body.id}/content`)
      .set(bearer(alice.access))
      .attach('file', pdfDocument([['the second draft mentions a wallaby']]), {
        filename: 'draft.pdf',
        contentType: 'application/pdf',
      })
      .expect(200);
    expect(second.body).toMatchObject({ textStatus: 'pending', version: first.body.version + 1 });
    expect((await settled(t, alice, first.body.id)).textStatus).toBe('indexed');
    expect(await search(t, alice, 'wallaby')).toEqual([first.body.id]);
    expect(await search(t, alice, 'marmoset')).toEqual([]);

    // A text version replaces the PDF's text at once, with no extraction.
    const text = await t.http
      .put(`/documents/${first.body.id}/content`)
      .set(bearer(alice.access))
      .attach('file', Buffer.from('now a plain note about a tamarin'), {
        filename: 'draft.txt',
        contentType: 'text/plain',
      })
      .expect(200);
    expect(text.body.textStatus).toBe('indexed');
    expect(await search(t, alice, 'tamarin')).toEqual([first.body.id]);
    expect(await search(t, alice, 'wallaby')).toEqual([]);
  });

  it('a text document is indexed at once, with no job', async () => {
    const text = await t.http
      .post('/documents')
      .set(bearer(alice.access))
      .send({ title: 'Plain', content: 'words' })
      .expect(201);
    expect(text.body.textStatus).toBe('indexed');
  });

  it('a garbage PDF fails its own extraction only: the server and the next PDF are fine', async () => {
    const garbage = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(4096, 0x9c)]);
    const bad = await uploadPdf(t, alice, garbage, 'garbage.pdf');
    const good = await uploadPdf(t, alice, pdfDocument([['a quokka appears']]), 'good.pdf');
    expect((await settled(t, alice, bad.body.id)).textStatus).toBe('failed');
    expect((await settled(t, alice, good.body.id)).textStatus).toBe('indexed');
    expect(await search(t, alice, 'quokka')).toEqual([good.body.id]);
    await t.http.get('/health/ready').expect(200);
    // The document itself is still there, bytes intact.
    const content = await t.http.get(`/documents/${bad.body.id}/content`).set(bearer(alice.access)).expect(200);
    expect(Buffer.compare(content.body, garbage)).toBe(0);
  });

  it('a PDF over the page cap fails; one at the cap is indexed', async () => {
    const page = (word: string) => [`page about ${word}`];
    const over = await uploadPdf(t, alice, pdfDocument(['a', 'b', 'c', 'd'].map((w) => page(`narwhal${w}`))));
    const at = await uploadPdf(t, alice, pdfDocument(['a', 'b', 'c'].map((w) => page(`axolotl${w}`))));
    expect((await settled(t, alice, over.body.id)).textStatus).toBe('failed');
    expect((await settled(t, alice, at.body.id)).textStatus).toBe('indexed');
    expect(await search(t, alice, 'narwhala')).toEqual([]);
    expect(await search(t, alice, 'axolotlc')).toEqual([at.body.id]);
  });

  it('a decompression bomb (a stream inflating past PDF_TEXT_MEMORY_MB) fails; text past PDF_TEXT_MAX_CHARS is cut', async () => {
    const bomb = deflateSync(Buffer.alloc(64 * 1024 * 1024, ' '));
    const bombed = await uploadPdf(t, alice, pdfDocument([['pangolin'], { deflated: bomb }]));
    expect((await settled(t, alice, bombed.body.id)).textStatus).toBe('failed');
    expect(await search(t, alice, 'pangolin')).toEqual([]);

    const filler = Array.from({ length: 30 }, () => 'filler words to pass the cap of characters here');
    const long = await uploadPdf(t, alice, pdfDocument([['capybara', ...filler], ['wombat']]));
    expect((await settled(t, alice, long.body.id)).textStatus).toBe('indexed');
    expect(await search(t, alice, 'capybara')).toEqual([long.body.id]);
    expect(await search(t, alice, 'wombat')).toEqual([]);
  });
});

describe('PDF text limits and restarts', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(() => db.drop());

  it('a PDF whose extraction exceeds the time cap fails', async () => {
    const t = await startTestApp({ db, env: { PDF_TEXT_TIMEOUT_MS: '1' } });
    try {
      const user = await signUp(t);
      const doc = await uploadPdf(t, user, pdfDocument([['too slow']]));
      expect((await settled(t, user, doc.body.id)).textStatus).toBe('failed');
    } finally {
      await t.close();
    }
  });

  it(`a pending job survives a restart and is done by the next start${realPostgres ? ' (real Redis cache too)' : ''}`, async () => {
    // PDF_TEXT_WORKERS=0: this instance extracts nothing, so the job is still a row when it stops.
    const first = await startTestApp({ db, env: { PDF_TEXT_WORKERS: '0', CACHE_TTL_MS } });
    const user = await signUp(first);
    let id: string;
    try {
      id = (await uploadPdf(first, user, pdfDocument([['the okapi survives restarts']]))).body.id;
      // Cached while pending: the next instance must invalidate it when the text is in.
      for (let i = 0; i < 2; i++) {
        const res = await first.http.get(`/documents/${id}`).set(bearer(user.access)).expect(200);
        expect(res.body.textStatus).toBe('pending');
      }
      expect(await search(first, user, 'okapi')).toEqual([]);
      expect(await search(first, user, 'okapi')).toEqual([]);
    } finally {
      await first.close();
    }
    const second = await startTestApp({ db, env: { PDF_TEXT_POLL_INTERVAL_MS: '100', CACHE_TTL_MS } });
    try {
      expect((await settled(second, user, id)).textStatus).toBe('indexed');
      expect(await search(second, user, 'okapi')).toEqual([id]);
    } finally {
      await second.close();
    }
  });

  it('the bundled server (dist/main.js) finds its worker script and indexes a PDF', async () => {
    const running: Spawned[] = [];
    try {
      const { server, base } = await startMain(
        { ...db.env, PDF_TEXT_POLL_INTERVAL_MS: '100', RATE_LIMIT_MAX: '1000000' },
        running,
      );
      const json = (token?: string) => ({
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      });
      const account = { email: 'bundle@example.com', username: 'bundle', password: 'a long enough password' };
      const registered = await fetch(`${base}/auth/register`, {
        method: 'POST',
        headers: json(),
        body: JSON.stringify(account),
      });
      expect(registered.status).toBe(201);
      const login = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: json(),
        body: JSON.stringify({ email: account.email, password: account.password }),
      });
      expect(login.status).toBe(200);
      const token = ((await login.json()) as { access_token: string }).access_token;
      const form = new FormData();
      const pdf = pdfDocument([['the bundled worker reads a tapir']]);
      form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'tapir.pdf');
      const created = await fetch(`${base}/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as Doc;
      let status = 'pending';
      while (status === 'pending') {
        const res = await fetch(`${base}/documents/${id}`, { headers: json(token) });
        expect(res.status).toBe(200);
        status = ((await res.json()) as Doc).textStatus;
        if (status === 'pending') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe('indexed');
      const found = await fetch(`${base}/documents?q=tapir`, { headers: json(token) });
      expect(((await found.json()) as { items: Doc[] }).items.map((d) => d.id)).toEqual([id]);
      server.child.kill('SIGTERM');
      expect((await server.exit).code).toBe(0);
    } finally {
      for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });
});

describe('PDF text of a replaced version', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    // No extraction on this instance: the test claims the job as another instance would.
    t = await startTestApp({ env: { PDF_TEXT_WORKERS: '0', CACHE_TTL_MS } });
    alice = await signUp(t);
  });
  afterAll(() => t.close());

  it('text extracted from a version replaced meanwhile is not stored, and the new version stays queued', async () => {
    const created = await uploadPdf(t, alice, pdfDocument([['an outdated gecko']]), 'v.pdf');
    const jobs = t.app.get(PdfTextJobs);
    const claimed = await jobs.claim(60);
    expect(claimed).toMatchObject({ documentId: created.body.id, contentVersion: 1 });

    await t.http
      .put(`/documents/${created.body.id}/content`)
      .set(bearer(alice.access))
      .attach('file', pdfDocument([['a current iguana']]), { filename: 'v.pdf', contentType: 'application/pdf' })
      .expect(200);
    expect(await jobs.finish(claimed!, 'an outdated gecko')).toBe(false);

    const doc = await t.http.get(`/documents/${created.body.id}`).set(bearer(alice.access)).expect(200);
    expect(doc.body.textStatus).toBe('pending');
    expect(await search(t, alice, 'gecko')).toEqual([]);
    // The new version's job is due at once for the next instance that looks.
    expect(await jobs.claim(60)).toMatchObject({ documentId: created.body.id, contentVersion: 2 });
  });
});
