import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { pdfBytes, sha256 } from './support/files.js';

/** Larger than the kernel's socket buffers take from a client that reads nothing. */
const BIG = 10 * 1024 * 1024;

/** A PDF of `size` bytes (the content check reads the signature; the rest is padding). */
function bigPdf(size: number): Buffer {
  const head = pdfBytes();
  return Buffer.concat([head, Buffer.alloc(size - head.length, 0x20)]);
}

interface Unread {
  response: IncomingMessage;
  /** Starts reading again; resolves with the bytes received when the connection ends or is cut. */
  drain(): Promise<number>;
  abort(): void;
}

/** Requests a download, takes the headers, and then reads nothing more: the attack. */
function openUnread(t: TestApp, path: string, token: string): Promise<Unread> {
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: bearer(token) });
    req.on('response', (response) => {
      // Paused: Node stops reading the socket once its small buffer is full (and so
      // does not see the server close it either, until it reads again).
      response.pause();
      // The cut may come before drain() is called (Node 26 then emits "aborted" on the paused
      // response and closes it): the cut is the expected outcome, not an error of the test.
      response.on('error', () => undefined);
      let bytes = 0;
      const closed = new Promise<number>((done) => response.on('close', () => done(bytes)));
      resolve({
        response,
        drain: () => {
          response.on('data', (chunk: Buffer) => (bytes += chunk.length));
          response.resume();
          return closed;
        },
        abort: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Retries `attempt` until it returns true (the server notices a closed connection asynchronously). */
async function eventually(attempt: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 250; i += 1) {
    if (await attempt()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never: ${what}`);
}

async function upload(t: TestApp, account: Account, data: Buffer): Promise<string> {
  const res = await t.http
    .post('/documents')
    .set(bearer(account.access))
    .attach('file', data, { filename: 'big.pdf', contentType: 'application/pdf' })
    .expect(201);
  return res.body.id as string;
}

const download = (t: TestApp, account: Account, id: string) =>
  t.http.get(`/documents/${id}/content`).set(bearer(account.access));

/** Through Fastify, so that closing the app closes the listening socket too (a raw server.listen stays open). */
const listen = (t: TestApp) => t.app.listen(0, '127.0.0.1');

describe('download caps', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let aliceBig: string;
  let bobBig: string;
  let carolSmall: string;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        UPLOAD_MAX_BYTES: String(BIG + 1024),
        USER_QUOTA_BYTES: String(4 * BIG),
        DOWNLOAD_CONCURRENCY_PER_USER: '1',
        DOWNLOAD_CONCURRENCY: '2',
        DOWNLOAD_STALL_TIMEOUT_MS: '600000',
      },
    });
    await listen(t);
    [alice, bob, carol] = [await signUp(t), await signUp(t), await signUp(t)];
    aliceBig = await upload(t, alice, bigPdf(BIG));
    bobBig = await upload(t, bob, bigPdf(BIG));
    carolSmall = await upload(t, carol, pdfBytes('small'));
  });
  afterAll(() => t.close());

  it('answers 429 over the per-user cap and 503 over the server cap, with Retry-After', async () => {
    const first = await openUnread(t, `/documents/${aliceBig}/content`, alice.access);
    expect(first.response.statusCode).toBe(200);
    try {
      const mine = await download(t, alice, aliceBig).expect(429);
      expect(mine.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(mine.headers['retry-after']).toMatch(/^\d+$/);
      expect(mine.body).toMatchObject({ status: 429, type: 'urn:ultrai:problem:too-many-downloads' });

      const second = await openUnread(t, `/documents/${bobBig}/content`, bob.access);
      expect(second.response.statusCode).toBe(200);
      try {
        const busy = await download(t, carol, carolSmall).expect(503);
        expect(busy.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(busy.headers['retry-after']).toMatch(/^\d+$/);
        expect(busy.body).toMatchObject({ status: 503, type: 'urn:ultrai:problem:downloads-busy' });
      } finally {
        second.abort();
      }
    } finally {
      first.abort();
    }
  });

  it('frees the slot when a download completes', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await download(t, carol, carolSmall).expect(200);
      expect(sha256(res.body as Buffer)).toBe(sha256(pdfBytes('small')));
    }
  });

  it('frees the slot when the client goes away', async () => {
    const unread = await openUnread(t, `/documents/${aliceBig}/content`, alice.access);
    await download(t, alice, aliceBig).expect(429);
    unread.abort();
    await eventually(
      async () =>
        (await download(t, alice, carolSmall).buffer(true)).status !== 429 &&
        (await download(t, alice, aliceBig).buffer(true)).status === 200,
      'the aborted download released its slot',
    );
  });

  it('does not count a 304 (nothing is read)', async () => {
    const unread = await openUnread(t, `/documents/${aliceBig}/content`, alice.access);
    try {
      const etag = `"${sha256(bigPdf(BIG))}"`;
      await download(t, alice, aliceBig).set('if-none-match', etag).expect(304);
    } finally {
      unread.abort();
    }
  });
});

describe('a download whose client never reads', () => {
  let t: TestApp;
  let alice: Account;
  let big: string;
  let small: string;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        UPLOAD_MAX_BYTES: String(BIG + 1024),
        USER_QUOTA_BYTES: String(4 * BIG),
        DOWNLOAD_CONCURRENCY_PER_USER: '1',
        DOWNLOAD_STALL_TIMEOUT_MS: '300',
      },
    });
    await listen(t);
    alice = await signUp(t);
    big = await upload(t, alice, bigPdf(BIG));
    small = await upload(t, alice, pdfBytes('small'));
  });
  afterAll(() => t.close());

  it('is cut off after DOWNLOAD_STALL_TIMEOUT_MS without progress, and its slot is freed', async () => {
    const unread = await openUnread(t, `/documents/${big}/content`, alice.access);
    expect(unread.response.statusCode).toBe(200);
    expect(unread.response.headers['content-length']).toBe(String(BIG));
    // The per-user cap is 1: a second download is refused until the first one's slot is freed.
    // The second one is small: a 10 MiB answer read by a client in this same process could
    // itself go 300 ms without progress on a busy machine, and be cut off in turn.
    await eventually(
      async () => (await download(t, alice, small)).status === 200,
      'the stalled download was cut off and released its slot',
    );
    // The unread client, reading at last, finds its answer cut short.
    expect(await unread.drain()).toBeLessThan(BIG);
  });
});
