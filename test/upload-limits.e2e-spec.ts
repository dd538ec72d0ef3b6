import { connect } from 'node:net';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, signUp } from './support/auth.js';

describe('an upload over UPLOAD_MAX_BYTES', () => {
  let t: TestApp;
  let user: Account;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp({ env: { UPLOAD_MAX_BYTES: '1024' } });
    user = await signUp(t);
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(() => t.close());

  it('is refused 413 before its body is read: the answer comes while the client still holds the rest', async () => {
    const boundary = '----ultrai-too-large';
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => undefined);
    // Ten megabytes declared; a few hundred bytes sent; the rest never comes. Had the server
    // waited for the body, no answer would arrive and the test would fail on its timeout.
    socket.write(
      `POST /documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${user.access}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n` +
        'a'.repeat(200),
    );
    await closed;
    const [head, body] = received.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(head).toMatch(/^connection: close$/im);
    expect(JSON.parse(body)).toMatchObject({
      type: 'urn:ultrai:problem:payload-too-large',
      status: 413,
      detail: 'The file is larger than the 1024-byte limit.',
    });
    const list = await t.http
      .get('/documents')
      .set({ authorization: `Bearer ${user.access}` })
      .expect(200);
    expect(list.body.items).toEqual([]);
  });
});
