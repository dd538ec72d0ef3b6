import { ResponseCache } from '../src/cache/response-cache.js';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, signUp } from './support/auth.js';

const xCache = async (t: TestApp, account: Account, path: string) => {
  const res = await t.http.get(path).set(bearer(account.access)).expect(200);
  return res.headers['x-cache'];
};

describe('response cache keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_MAX_ENTRIES_PER_USER: '3' } });
  });
  afterAll(() => t.close());

  it('stores spellings of one request as one entry: the second spelling is a HIT', async () => {
    const alice = await signUp(t);
    await t.http.post('/documents').set(bearer(alice.access)).send({ title: 'one', content: 'x' }).expect(201);
    expect(await xCache(t, alice, '/documents?limit=100')).toBe('MISS');
    expect(await xCache(t, alice, '/documents?limit=0100')).toBe('HIT');
    expect(await xCache(t, alice, '/documents?limit=1e2')).toBe('HIT');

    expect(await xCache(t, alice, '/documents')).toBe('MISS');
    expect(await xCache(t, alice, '/documents?limit=20')).toBe('HIT');
    expect(await xCache(t, alice, `/documents?sort=-createdAt&limit=020&owner=${alice.id.toUpperCase()}`)).toBe('HIT');
  });

  it('stores at most CACHE_MAX_ENTRIES_PER_USER entries per user, and still answers past it', async () => {
    const [bob, carol] = [await signUp(t), await signUp(t)];
    const paths = [1, 2, 3, 4, 5].map((n) => `/documents?limit=${n}`);
    for (const path of paths) expect(await xCache(t, bob, path)).toBe('MISS');
    const again = [];
    for (const path of paths) again.push(await xCache(t, bob, path));
    expect(again).toEqual(['HIT', 'HIT', 'HIT', 'MISS', 'MISS']);
    // Another user's cap is their own.
    await xCache(t, carol, '/documents?limit=4');
    expect(await xCache(t, carol, '/documents?limit=4')).toBe('HIT');
  });

  it('counts an answer stored again (as by every client that missed it at once) as one towards the cap', async () => {
    const dave = await signUp(t);
    const cache = t.app.get(ResponseCache);
    const answer = { json: '{"stored":true}' };
    const key = (path: string) => `${dave.id}:0:${path}`;
    for (let i = 0; i < 5; i++) await cache.set(dave.id, key('/a'), answer);
    await cache.set(dave.id, key('/b'), answer);
    await cache.set(dave.id, key('/c'), answer);
    await cache.set(dave.id, key('/d'), answer);
    expect(await Promise.all(['/a', '/b', '/c', '/d'].map((path) => cache.get(key(path))))).toEqual([
      answer,
      answer,
      answer,
      undefined,
    ]);
  });
});
