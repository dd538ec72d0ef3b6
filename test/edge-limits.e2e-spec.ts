import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { request as httpRequest } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';
import { ProbeModule } from './support/probe.module.js';

type Res = { status: number; headers: Record<string, string>; body: Record<string, unknown>; text: string };

function expectProblem(res: Res, status: number, type: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, type: `urn:ultrai:problem:${type}` });
}

const manyKeys = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}}`;

describe('limits at the edge', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    t = await startTestApp({ extraModules: [ProbeModule] });
    alice = await signUp(t);
  });
  afterAll(() => t.close());

  describe('JSON size', () => {
    it('refuses an object of 80,000 unknown keys before validation, in a short answer', async () => {
      // The review's attack: 1 MB of unknown keys took seconds of validation and echoed 80,000 errors.
      const res = await t.http.post('/documents').set(bearer(alice.access)).type('json').send(manyKeys(80_000));
      expectProblem(res, 400, 'malformed-body');
      expect(res.body.detail).toMatch(/more than 100 keys/);
      expect(res.text.length).toBeLessThan(1000);
    });

    it('refuses a body of more than 10,000 values', async () => {
      const res = await t.http
        .post('/documents')
        .set(bearer(alice.access))
        .send({ title: 'x', content: 'x', tags: Array.from({ length: 20_000 }, () => 0) });
      expectProblem(res, 400, 'malformed-body');
      expect(res.body.detail).toMatch(/more than 10000 values/);
    });

    it('still takes bodies within the limits', async () => {
      const res = await t.http.post('/__probe/echo').type('json').send(manyKeys(100));
      expectProblem(res, 400, 'validation-failed');
    });
  });

  describe('body size', () => {
    it('answers 413 problem+json to an auth body of more than 16 KiB', async () => {
      const res = await t.http.post('/auth/login').send({ email: alice.email, password: 'x'.repeat(20 * 1024) });
      expectProblem(res, 413, 'payload-too-large');
      expect(res.body.detail).toMatch(/16384 bytes/);
      const register = await t.http.post('/auth/register').type('json').send(manyKeys(3000));
      expectProblem(register, 413, 'payload-too-large');
    });

    it('answers 413 to a users body of more than 16 KiB', async () => {
      const res = await t.http
        .patch('/users/me')
        .set(bearer(alice.access))
        .send({ username: 'x'.repeat(20 * 1024) });
      expectProblem(res, 413, 'payload-too-large');
    });

    it('answers 413 to an account-recovery body of more than 16 KiB, before any mail or limit is spent', async () => {
      for (const path of ['/auth/password/forgot', '/auth/password/reset', '/auth/email/verify']) {
        const res = await t.http.post(path).type('json').send(manyKeys(3000));
        expectProblem(res, 413, 'payload-too-large');
        expect(res.body.detail).toMatch(/16384 bytes/);
      }
      const change = await t.http
        .put('/users/me/email')
        .set(bearer(alice.access))
        .send({ email: 'new@example.com', password: 'x'.repeat(20 * 1024) });
      expectProblem(change, 413, 'payload-too-large');
    });

    it('keeps 1 MiB for JSON document uploads', async () => {
      const content = 'words '.repeat(100 * 1024);
      const res = await t.http.post('/documents').set(bearer(alice.access)).send({ title: 'big', content }).expect(201);
      expect(res.body.size).toBe(Buffer.byteLength(content));
    });
  });

  describe('field errors', () => {
    it('lists at most 20 errors and says how many there were', async () => {
      const res = await t.http
        .post('/__probe/echo')
        .send({ name: 'x', count: 1, items: Array.from({ length: 60 }, () => ({ label: 42 })) });
      expectProblem(res, 400, 'validation-failed');
      expect(res.body.errors).toHaveLength(20);
      expect((res.body.errors as Array<{ field: string }>)[0].field).toBe('items[0].label');
      expect(res.body.detail).toMatch(/120 errors.*first 20/);
    });
  });
});

describe('request bodies that stop arriving', () => {
  // Long enough that a busy machine (this process is the server and the client) does not
  // open a gap of IDLE_MS between two pieces of the slow upload below, which come 5× faster.
  const IDLE_MS = 1000;
  let t: TestApp;
  let alice: Account;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await startTestApp({ env: { BODY_IDLE_TIMEOUT_MS: String(IDLE_MS) } });
    alice = await signUp(t);
    // Through Fastify, so that closing the app closes the listening socket too.
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  // A connection the server failed to close must not keep it from closing.
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await t.close();
  });

  /** Sends the head and `sent` of the body, then nothing; resolves with all the server wrote once it closed. */
  function sendAndStall(head: string, sent: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(head + sent));
      sockets.push(socket);
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
    });
  }

  it('answers 408 problem+json and closes the connection when no byte of the body arrives for a while', async () => {
    const received = await sendAndStall(
      'POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
      '{"em',
    );
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(received).toMatch(/\r\nconnection: close/i);
    expect(received).toContain('"type":"urn:ultrai:problem:request-timeout"');
  }, 20_000);

  it('closes a chunked upload that stalls too', async () => {
    const received = await sendAndStall(
      `POST /documents HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.access}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      '5\r\n{"tit\r\n',
    );
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  }, 20_000);

  it('does not cut off a slow upload that keeps sending', async () => {
    const boundary = 'slowBOUNDARY';
    const text = 'a line that arrives slowly\n'.repeat(40);
    const body = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\nContent-Type: text/plain\r\n\r\n${text}\r\n--${boundary}--\r\n`,
    );
    const answer = new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/documents',
          headers: {
            authorization: `Bearer ${alice.access}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': body.length,
          },
        },
        (res) => {
          let data = '';
          res.on('data', (chunk) => (data += chunk));
          res.on('end', () => resolve({ status: res.statusCode, body: data }));
        },
      );
      req.on('error', reject);
      // 12 pieces, one every IDLE_MS / 5: over twice the idle bound in all, never idle for it.
      void (async () => {
        const size = Math.ceil(body.length / 12);
        for (let offset = 0; offset < body.length; offset += size) {
          req.write(body.subarray(offset, offset + size));
          await delay(IDLE_MS / 5);
        }
        req.end();
      })();
    });
    const res = await answer;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ filename: 'slow.txt', size: Buffer.byteLength(text) });
  }, 20_000);
});

describe('a refused body that is still being sent', () => {
  let t: TestApp;
  let alice: Account;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp();
    alice = await signUp(t);
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());

  /**
   * Sends each piece 300 ms after the one before (time for the server to refuse what
   * it has), and only then reads: what a client streaming a file from disk sees.
   */
  function sendInPieces(...pieces: Array<string | Buffer>): Promise<{ received: string; error?: string }> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.pause();
      let received = '';
      socket.on('error', (error: NodeJS.ErrnoException) => resolve({ received, error: error.code }));
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('end', () => resolve({ received }));
      void (async () => {
        for (const piece of pieces) {
          socket.write(piece);
          await delay(300);
        }
        socket.resume();
      })();
    });
  }

  it('lets the client read the 413 instead of a connection reset', async () => {
    const body = Buffer.alloc(900 * 1024, 'x');
    const { received, error } = await sendInPieces(
      `POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      body,
    );
    expect(error).toBeUndefined();
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toContain('"type":"urn:ultrai:problem:payload-too-large"');
  });

  it('lets the client read the 413 for an upload over the size limit, sent chunked', async () => {
    const boundary = 'bigBOUNDARY';
    const chunk = (data: Buffer) =>
      Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
    const { received, error } = await sendInPieces(
      `POST /documents HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.access}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      chunk(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`,
        ),
      ),
      // Over the 10 MiB limit: refused here...
      chunk(Buffer.alloc(10 * 1024 * 1024 + 1024, 'a')),
      // ...while the client still sends.
      chunk(Buffer.alloc(1024 * 1024, 'a')),
      Buffer.concat([chunk(Buffer.from(`\r\n--${boundary}--\r\n`)), Buffer.from('0\r\n\r\n')]),
    );
    expect(error).toBeUndefined();
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toMatch(/larger than the 10485760-byte limit/);
    // Nothing of it was kept.
    const list = await t.http.get('/documents').set(bearer(alice.access)).expect(200);
    expect(list.body.items).toHaveLength(0);
  });
});
