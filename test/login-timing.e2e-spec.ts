import { startTestApp, type TestApp } from './support/app.js';
import { signUp } from './support/auth.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type Spawned, startMain } from './support/process.js';
import { SmtpSink } from './support/smtp.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A login for an unknown email must cost what one for a known email does
 * (argon2 against a dummy hash), or response times would reveal who has an
 * account. Many requests, alternated, compared by median; the bound is loose
 * so that a busy machine does not make it flaky.
 */
describe('login timing', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is about the same for an unknown email and a known one with a wrong password', async () => {
    const known = await signUp(t);
    const time = async (email: string) => {
      const started = performance.now();
      await t.http.post('/auth/login').send({ email, password: 'definitely-wrong' }).expect(401);
      return performance.now() - started;
    };
    await time('warm-up@example.com');
    const unknown: number[] = [];
    const existing: number[] = [];
    for (let i = 0; i < 25; i++) {
      unknown.push(await time(`nobody-${i}@example.com`));
      existing.push(await time(known.email));
    }
    const ratio = median(unknown) / median(existing);
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.6);
    // and both really ran argon2, not a shortcut: well above a plain request
    expect(median(unknown)).toBeGreaterThan(5);
  });
});

/**
 * Forgot-password answers 202 before it even looks the address up, so an
 * attacker timing it learns nothing. Alternated requests for a real account and
 * unknown ones, compared by median; loose bounds so a busy machine is not
 * flaky, yet a handler that waited for the lookup, token and outbox write of a
 * real account (several milliseconds of database work) would fail them.
 * Against the built server in its own process, as an attacker sees it: in this
 * test's process (the embedded database's WebAssembly runs on the server's event
 * loop) the work done after the answer would delay this client's own reading of
 * it, which no remote client pays.
 */
describe('forgot-password timing', () => {
  let sink: SmtpSink;
  let db: TestDatabase;
  let base: string;
  const running: Spawned[] = [];
  beforeAll(async () => {
    sink = await SmtpSink.start();
    db = await createTestDatabase();
    ({ base } = await startMain(
      { ...db.env, SMTP_URL: sink.url, ACCOUNT_RATE_LIMIT_MAX: '1000000', LOG_LEVEL: 'warn' },
      running,
    ));
  }, 120_000);
  afterAll(async () => {
    // SIGTERM: the server finishes its mail and closes its SMTP connection (a killed one
    // would reset it under the sink's feet), then the sink stops.
    for (const p of running) p.child.kill('SIGTERM');
    await Promise.all(running.map((p) => p.exit));
    await db?.drop();
    await sink?.down();
  });

  it('is the same, within noise, for an existing account and an unknown address', async () => {
    const post = (path: string, body: object) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const email = `timing${Date.now()}@example.com`;
    expect(
      (await post('/auth/register', { email, password: 'a long enough password', username: `timing_${Date.now()}` }))
        .status,
    ).toBe(201);
    const time = async (address: string) => {
      const started = performance.now();
      const res = await post('/auth/password/forgot', { email: address });
      await res.arrayBuffer();
      expect(res.status).toBe(202);
      return performance.now() - started;
    };
    await time('warm-up@example.com');
    await time(email);
    const unknown: number[] = [];
    const existing: number[] = [];
    for (let i = 0; i < 60; i++) {
      unknown.push(await time(`nobody-${i}@example.com`));
      existing.push(await time(email));
    }
    const difference = Math.abs(median(existing) - median(unknown));
    expect(difference).toBeLessThan(Math.max(2.5, 0.6 * median(unknown)));
    // The real account did get its mails: the timing hides work, it does not skip it.
    expect((await sink.mail(email, 2)).subject).toBe('Reset your UltrAI password');
  });
});
