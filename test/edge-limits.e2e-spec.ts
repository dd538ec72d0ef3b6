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
