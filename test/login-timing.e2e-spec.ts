import { startTestApp, type TestApp } from './support/app.js';
import { signUp } from './support/auth.js';

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
