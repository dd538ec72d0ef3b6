import { DataSource } from 'typeorm';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';

const ATTEMPTS = 3;
const LINK_ATTEMPTS = 6;

describe('share links', () => {
  let t: TestApp;
  let owner: Account;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        LINK_PASSWORD_ATTEMPTS_MAX: String(ATTEMPTS),
        LINK_PASSWORD_LINK_ATTEMPTS_MAX: String(LINK_ATTEMPTS),
        // Twenty downloads at once from one test client: the download caps are not what is tested here.
        DOWNLOAD_CONCURRENCY_PER_USER: '50',
        DOWNLOAD_CONCURRENCY: '50',
        TRUST_PROXY: '1',
      },
    });
    owner = await signUp(t);
  });
  afterAll(() => t.close());

  const db = () => t.app.get(DataSource);

  async function newDocument(title: string, content = `${title} content`) {
    return (await t.http.post('/documents').set(bearer(owner.access)).send({ title, content }).expect(201)).body;
  }

  const createLink = (docId: string, body: Record<string, unknown> = {}) =>
    t.http.post(`/documents/${docId}/links`).set(bearer(owner.access)).send(body);

  /** The parts of a refusal a client can compare (instance and requestId differ per request). */
  const shape = (res: { status: number; body: Record<string, unknown>; headers: Record<string, string> }) => ({
    status: res.status,
    type: res.body.type,
    title: res.body.title,
    detail: res.body.detail,
    contentType: res.headers['content-type'],
  });

  it('gives metadata and bytes to anyone with the token, which is 256 bits and stored only hashed', async () => {
    const doc = await newDocument('linked', 'the linked bytes ✓');
    const created = await createLink(doc.id).expect(201);
    expect(created.body).toMatchObject({
      documentId: doc.id,
      expiresAt: null,
      maxDownloads: null,
      downloads: 0,
      hasPassword: false,
      token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(Buffer.from(created.body.token, 'base64url')).toHaveLength(32);
    expect(created.body.url).toMatch(new RegExp(`/s/${created.body.token}$`));
    const stored = await db().query('SELECT * FROM document_links WHERE id = $1', [created.body.id]);
    expect(JSON.stringify(stored)).not.toContain(created.body.token);

    const meta = await t.http.get(`/s/${created.body.token}`).expect(200);
    expect(meta.body).toEqual({
      title: 'linked',
      filename: 'linked.txt',
      mimeType: 'text/plain',
      size: doc.size,
      sha256: doc.sha256,
      updatedAt: doc.updatedAt,
      expiresAt: null,
      downloadsLeft: null,
    });
    const content = await t.http.get(`/s/${created.body.token}/content`).expect(200);
    expect(content.text).toBe('the linked bytes ✓');
    expect(content.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'content-disposition': expect.stringContaining('attachment'),
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    const listed = await t.http.get(`/documents/${doc.id}/links`).set(bearer(owner.access)).expect(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: created.body.id, downloads: 1 })]);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
  });

  it('answers one identical 404 for unknown, malformed, revoked, expired and used-up links', async () => {
    const doc = await newDocument('gone');
    const revoked = (await createLink(doc.id).expect(201)).body;
    await t.http.delete(`/documents/${doc.id}/links/${revoked.id}`).set(bearer(owner.access)).expect(204);
    await t.http.delete(`/documents/${doc.id}/links/${revoked.id}`).set(bearer(owner.access)).expect(404);
    const expired = (await createLink(doc.id, { expiresAt: new Date(Date.now() + 60_000).toISOString() }).expect(201))
      .body;
    await t.http.get(`/s/${expired.token}`).expect(200);
    await db().query(`UPDATE document_links SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
    const usedUp = (await createLink(doc.id, { maxDownloads: 1 }).expect(201)).body;
    await t.http.get(`/s/${usedUp.token}/content`).expect(200);

    const unknown = 'A'.repeat(43);
    const answers = [];
    for (const token of [unknown, 'short', revoked.token, expired.token, usedUp.token]) {
      answers.push(shape(await t.http.get(`/s/${token}`)));
      answers.push(shape(await t.http.get(`/s/${token}/content`)));
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({ status: 404, contentType: expect.stringContaining('application/problem+json') });
  });

  it('with a password: missing or wrong is 401, right (header or POST body) is 200', async () => {
    const doc = await newDocument('secret', 'secret bytes');
    const link = (await createLink(doc.id, { password: 'open sesame' }).expect(201)).body;
    expect(link.hasPassword).toBe(true);
    const stored = await db().query('SELECT password_hash FROM document_links WHERE id = $1', [link.id]);
    expect(stored[0].password_hash).toMatch(/^\$argon2id\$/);

    const missing = await t.http.get(`/s/${link.token}`).set('x-forwarded-for', '198.51.100.1').expect(401);
    expect(missing.body.detail).toMatch(/X-Link-Password/);
    await t.http.get(`/s/${link.token}/content`).set('x-forwarded-for', '198.51.100.1').expect(401);
    await t.http
      .get(`/s/${link.token}`)
      .set('x-forwarded-for', '198.51.100.1')
      .set('x-link-password', 'open sesame!')
      .expect(401);
    const meta = await t.http
      .get(`/s/${link.token}`)
      .set('x-forwarded-for', '198.51.100.1')
      .set('x-link-password', 'open sesame')
      .expect(200);
    expect(meta.body.title).toBe('secret');
    const bytes = await t.http
      .get(`/s/${link.token}/content`)
      .set('x-forwarded-for', '198.51.100.1')
      .set('x-link-password', 'open sesame')
      .expect(200);
    expect(bytes.text).toBe('secret bytes');
    const posted = await t.http
      .post(`/s/${link.token}/content`)
      .set('x-forwarded-for', '198.51.100.1')
      .send({ password: 'open sesame' })
      .expect(200);
    expect(posted.text).toBe('secret bytes');
    await t.http.post(`/s/${link.token}`).set('x-forwarded-for', '198.51.100.1').send({ password: 'nope' }).expect(401);
    await t.http.post(`/s/${link.token}`).set('x-forwarded-for', '198.51.100.1').send({}).expect(400);
  });

  it('an IP past LINK_PASSWORD_ATTEMPTS_MAX wrong guesses gets 429 on every link; the right password works from another IP', async () => {
    const doc = await newDocument('guarded by ip');
    const links = [];
    for (let i = 0; i < ATTEMPTS + 1; i++)
      links.push((await createLink(doc.id, { password: `pw number ${i}` }).expect(201)).body);
    // One IP guessing across links.
    for (let i = 0; i < ATTEMPTS; i++) {
      await t.http
        .get(`/s/${links[i].token}`)
        .set('x-forwarded-for', '192.0.2.77')
        .set('x-link-password', 'guess')
        .expect(401);
    }
    const limited = await t.http
      .get(`/s/${links[ATTEMPTS].token}`)
      .set('x-forwarded-for', '192.0.2.77')
      .set('x-link-password', `pw number ${ATTEMPTS}`)
      .expect(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    await t.http
      .get(`/s/${links[0].token}/content`)
      .set('x-forwarded-for', '192.0.2.77')
      .set('x-link-password', 'pw number 0')
      .expect(429);
    // The links themselves are not locked: their holders get in from their own IPs.
    for (const i of [0, ATTEMPTS]) {
      await t.http
        .get(`/s/${links[i].token}`)
        .set('x-forwarded-for', '192.0.2.78')
        .set('x-link-password', `pw number ${i}`)
        .expect(200);
    }
  });

  it('many IPs guessing on one link cannot lock out whoever has its password', async () => {
    const doc = await newDocument('guarded by link');
    const link = (await createLink(doc.id, { password: 'right one' }).expect(201)).body;
    const other = (await createLink(doc.id, { password: 'right two' }).expect(201)).body;
    // LINK_ATTEMPTS wrong guesses, each from its own IP (so the per-IP limit never trips).
    for (let i = 0; i < LINK_ATTEMPTS; i++) {
      await t.http
        .get(`/s/${link.token}`)
        .set('x-forwarded-for', `203.0.113.${i}`)
        .set('x-link-password', `wrong ${i}`)
        .expect(401);
    }
    // The link is now locked for the IPs that guessed wrong on it, right password or not…
    const locked = await t.http
      .get(`/s/${link.token}`)
      .set('x-forwarded-for', '203.0.113.0')
      .set('x-link-password', 'right one')
      .expect(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // …and a fresh IP gets one guess: wrong, then 429 from it too.
    await t.http
      .get(`/s/${link.token}`)
      .set('x-forwarded-for', '203.0.113.200')
      .set('x-link-password', 'another guess')
      .expect(401);
    await t.http
      .get(`/s/${link.token}`)
      .set('x-forwarded-for', '203.0.113.200')
      .set('x-link-password', 'right one')
      .expect(429);
    // The holder of the password still gets the metadata and the bytes from their own IP.
    await t.http
      .get(`/s/${link.token}`)
      .set('x-forwarded-for', '203.0.113.250')
      .set('x-link-password', 'right one')
      .expect(200);
    const bytes = await t.http
      .get(`/s/${link.token}/content`)
      .set('x-forwarded-for', '203.0.113.250')
      .set('x-link-password', 'right one')
      .expect(200);
    expect(bytes.text).toBe('guarded by link content');
    // Another link of the same document is not affected, even from a guessing IP.
    await t.http
      .get(`/s/${other.token}`)
      .set('x-forwarded-for', '203.0.113.1')
      .set('x-link-password', 'right two')
      .expect(200);
  });

  it('maxDownloads holds under 20 concurrent downloads', async () => {
    const doc = await newDocument('popular', 'p'.repeat(200_000));
    const link = (await createLink(doc.id, { maxDownloads: 5 }).expect(201)).body;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.http.get(`/s/${link.token}/content`).set('x-forwarded-for', `198.51.100.${100 + i}`),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(200), ...Array(15).fill(404)]);
    for (const ok of results.filter((r) => r.status === 200)) expect(ok.text).toHaveLength(200_000);
    const stored = await db().query('SELECT downloads FROM document_links WHERE id = $1', [link.id]);
    expect(stored[0].downloads).toBe(5);
    // Metadata stays readable until the link is used up; now it is not.
    await t.http.get(`/s/${link.token}`).expect(404);
  });

  it('refuses bad link requests with 400, and only the owner manages links', async () => {
    const doc = await newDocument('bad links');
    for (const body of [
      { expiresAt: 'tomorrow' },
      { expiresAt: new Date(Date.now() - 1000).toISOString() },
      { password: 'abc' },
      { password: 42 },
      { maxDownloads: 0 },
      { maxDownloads: 1.5 },
      { extra: true },
    ]) {
      const refused = await createLink(doc.id, body);
      expect({ body, status: refused.status }).toEqual({ body, status: 400 });
    }
    const count = await db().query('SELECT count(*)::int AS n FROM document_links WHERE document_id = $1', [doc.id]);
    expect(count[0].n).toBe(0);
    const other = await signUp(t);
    await t.http.post(`/documents/${doc.id}/links`).set(bearer(other.access)).send({}).expect(404);
    await t.http.get(`/documents/${doc.id}/links`).set(bearer(other.access)).expect(404);
  });

  it('deleting the document kills its links', async () => {
    const doc = await newDocument('doomed');
    const link = (await createLink(doc.id).expect(201)).body;
    await t.http.get(`/s/${link.token}`).expect(200);
    await t.http.delete(`/documents/${doc.id}`).set(bearer(owner.access)).expect(204);
    await t.http.get(`/s/${link.token}`).expect(404);
    await t.http.get(`/s/${link.token}/content`).expect(404);
  });
});

describe('share links under the global per-IP limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_MAX: '3', TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  it('counts the public link routes per IP: past the limit 429, another IP unaffected', async () => {
    const token = 'B'.repeat(43);
    for (const path of [`/s/${token}`, `/s/${token}/content`, `/s/${token}`]) {
      await t.http.get(path).set('x-forwarded-for', '198.51.100.200').expect(404);
    }
    const limited = await t.http.get(`/s/${token}/content`).set('x-forwarded-for', '198.51.100.200').expect(429);
    expect(limited.headers['retry-after']).toBeDefined();
    await t.http.get(`/s/${token}`).set('x-forwarded-for', '198.51.100.201').expect(404);
  });
});
