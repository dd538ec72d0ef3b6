import { jest } from '@jest/globals';
import { SessionsRepository } from '../src/sessions/sessions.repository.js';
import { startTestApp, type TestApp } from './support/app.js';
import { type Account, bearer, craftJwt, decodeJwt, logIn, makeAdmin, signUp } from './support/auth.js';
import { TEST_JWT_SECRET } from './support/env.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { REAL_REDIS_URL } from './support/env.js';
import { type OwnRedis, startOnOwnRedis } from './support/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads `path` twice and checks the second read is a HIT: a MISS after a write that follows
 * can then only come from that write's invalidation.
 */
async function warm(t: TestApp, path: string, token: string) {
  await t.http.get(path).set(bearer(token)).expect(200);
  const hit = await t.http.get(path).set(bearer(token)).expect(200);
  expect({ path, cache: hit.headers['x-cache'] }).toEqual({ path, cache: 'HIT' });
  return hit;
}

/** cache_hits_total for its one layer, `edge` (src/cache/cached-reads.ts, before Nest). */
async function cacheHits(t: TestApp, layer: 'edge'): Promise<number> {
  const text = (await t.http.get('/metrics').expect(200)).text;
  return Number(new RegExp(`^cache_hits_total\\{layer="${layer}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

function uploadText(t: TestApp, account: Account, title: string) {
  return t.http
    .post('/documents')
    .set(bearer(account.access))
    .send({ title, content: `${title} body` })
    .expect(201);
}

describe('response cache', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let admin: Account;
  beforeAll(async () => {
    t = await startTestApp();
    [alice, bob, admin] = [await signUp(t), await signUp(t), await signUp(t)];
    await makeAdmin(t, admin.id);
  });
  afterAll(() => t.close());

  it('answers MISS, then HIT with the same body, for /users/me, /documents and /documents/:id', async () => {
    const doc = (await uploadText(t, alice, 'cached doc')).body;
    for (const path of ['/users/me', '/documents', `/documents/${doc.id}`]) {
      const first = await t.http.get(path).set(bearer(alice.access)).expect(200);
      const second = await t.http.get(path).set(bearer(alice.access)).expect(200);
      expect({ path, first: first.headers['x-cache'], second: second.headers['x-cache'] }).toEqual({
        path,
        first: 'MISS',
        second: 'HIT',
      });
      expect(second.body).toEqual(first.body);
      // A hit is the stored JSON text itself, sent with the same type.
      expect(second.text).toBe(first.text);
      expect(second.headers['content-type']).toBe(first.headers['content-type']);
    }
    const item = await t.http.get(`/documents/${doc.id}`).set(bearer(alice.access)).expect(200);
    expect(item.headers.etag).toBe('"1"');
  });

  it("a user's write invalidates their list and item at once, and another user's entries stay", async () => {
    const [alice, bob] = [await signUp(t), await signUp(t)];
    const doc = (await uploadText(t, alice, 'first')).body;
    await uploadText(t, bob, 'bob doc');
    // Each entry is a HIT right before the write, so the MISS after it is the invalidation's doing.
    await warm(t, '/documents', alice.access);
    await warm(t, `/documents/${doc.id}`, alice.access);
    await warm(t, '/documents', bob.access);

    await uploadText(t, alice, 'second');
    const list = await t.http.get('/documents').set(bearer(alice.access)).expect(200);
    expect(list.headers['x-cache']).toBe('MISS');
    expect(list.body.items.map((d: { title: string }) => d.title).sort()).toEqual(['first', 'second']);
    const bobs = await t.http.get('/documents').set(bearer(bob.access)).expect(200);
    expect(bobs.headers['x-cache']).toBe('HIT');
    expect(bobs.body.items.map((d: { title: string }) => d.title)).toEqual(['bob doc']);

    await warm(t, `/documents/${doc.id}`, alice.access);
    await t.http.patch(`/documents/${doc.id}`).set(bearer(alice.access)).send({ title: 'renamed' }).expect(200);
    const item = await t.http.get(`/documents/${doc.id}`).set(bearer(alice.access)).expect(200);
    expect(item.headers['x-cache']).toBe('MISS');
    expect(item.body.title).toBe('renamed');

    await warm(t, '/users/me', alice.access);
    await t.http.patch('/users/me').set(bearer(alice.access)).send({ username: 'alice_new' }).expect(200);
    const me = await t.http.get('/users/me').set(bearer(alice.access)).expect(200);
    expect(me.headers['x-cache']).toBe('MISS');
    expect(me.body.username).toBe('alice_new');
  });

  it("an administrator's change to a user invalidates that user's entries", async () => {
    const user = await signUp(t);
    await warm(t, '/users/me', user.access);
    await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ role: 'admin' }).expect(200);
    const me = await t.http.get('/users/me').set(bearer(user.access)).expect(200);
    expect(me.headers['x-cache']).toBe('MISS');
    expect(me.body.role).toBe('admin');

    await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ role: 'user' }).expect(200);
    await warm(t, '/users/me', user.access);
    await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ disabled: true }).expect(200);
    const refused = await t.http.get('/users/me').set(bearer(user.access)).expect(401);
    expect(refused.headers['x-cache']).toBeUndefined();
    expect(refused.body).toMatchObject({ status: 401 });
  });

  it('an administrator editing a document invalidates its owner’s entries', async () => {
    const doc = (await uploadText(t, bob, 'to be retitled')).body;
    await warm(t, `/documents/${doc.id}`, bob.access);
    await t.http.patch(`/documents/${doc.id}`).set(bearer(admin.access)).send({ title: 'by admin' }).expect(200);
    const item = await t.http.get(`/documents/${doc.id}`).set(bearer(bob.access)).expect(200);
    expect(item.headers['x-cache']).toBe('MISS');
    expect(item.body.title).toBe('by admin');
  });

  it("never caches another user's data for an administrator", async () => {
    const doc = (await uploadText(t, bob, 'bob private')).body;
    for (const path of [`/documents?owner=${bob.id}`, `/documents/${doc.id}`]) {
      await t.http.get(path).set(bearer(admin.access)).expect(200);
      const again = await t.http.get(path).set(bearer(admin.access)).expect(200);
      expect({ path, cache: again.headers['x-cache'] }).toEqual({ path, cache: 'MISS' });
    }
  });

  it('never caches errors or unauthenticated requests', async () => {
    const missing = '/documents/00000000-0000-4000-8000-000000000000';
    await t.http.get(missing).set(bearer(alice.access)).expect(404);
    const again = await t.http.get(missing).set(bearer(alice.access)).expect(404);
    expect(again.headers['x-cache']).not.toBe('HIT');
    expect(again.headers['content-type']).toMatch(/problem\+json/);
    await t.http.get('/documents?limit=0').set(bearer(alice.access)).expect(400);
    expect((await t.http.get('/documents?limit=0').set(bearer(alice.access)).expect(400)).headers['x-cache']).not.toBe(
      'HIT',
    );
    const anonymous = await t.http.get('/users/me').expect(401);
    expect(anonymous.headers['x-cache']).toBeUndefined();
  });

  it('counts hits and misses in /metrics', async () => {
    const user = await signUp(t);
    const misses = async () =>
      Number(/^cache_misses_total (\d+)/m.exec((await t.http.get('/metrics').expect(200)).text)?.[1]);
    const [hitsBefore, missesBefore] = [await cacheHits(t, 'edge'), await misses()];
    await warm(t, '/users/me', user.access);
    await t.http.get('/users/me').set(bearer(user.access)).expect(200);
    expect(await cacheHits(t, 'edge')).toBe(hitsBefore + 2);
    expect(await misses()).toBe(missesBefore + 1);
  });
});

describe('cache hits answered before the pipeline (src/cache/cached-reads.ts)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** The hits the edge gave while `run` ran. */
  async function edgeHitsDuring(run: () => Promise<unknown>): Promise<number> {
    const before = await cacheHits(t, 'edge');
    await run();
    return (await cacheHits(t, 'edge')) - before;
  }

  it('gives a hit the headers the pipeline gives its miss: security, rate limit, ETag, type', async () => {
    const user = await signUp(t);
    const doc = (await uploadText(t, user, 'headers')).body;
    for (const path of ['/users/me', '/documents', `/documents/${doc.id}`]) {
      const miss = await t.http.get(path).set(bearer(user.access)).expect(200);
      let hit = miss;
      const edge = await edgeHitsDuring(async () => {
        hit = await t.http.get(path).set(bearer(user.access)).expect(200);
      });
      expect({ path, cache: [miss.headers['x-cache'], hit.headers['x-cache']], edge }).toEqual({
        path,
        cache: ['MISS', 'HIT'],
        edge: 1,
      });
      const names = (headers: Record<string, string>) =>
        Object.keys(headers)
          .filter((name) => !['date', 'x-cache'].includes(name))
          .sort();
      expect(names(hit.headers)).toEqual(names(miss.headers));
      for (const name of ['content-type', 'x-ratelimit-limit', 'x-content-type-options', 'content-security-policy']) {
        expect(hit.headers[name]).toBe(miss.headers[name]);
      }
      expect(Number(hit.headers['x-ratelimit-remaining'])).toBe(Number(miss.headers['x-ratelimit-remaining']) - 1);
      if (path.startsWith('/documents/')) expect(hit.headers.etag).toBe(miss.headers.etag);
    }
  });

  it('accepts the Bearer scheme in any case, as the guard does', async () => {
    const user = await signUp(t);
    await warm(t, '/users/me', user.access);
    let cache: unknown;
    const edge = await edgeHitsDuring(async () => {
      cache = (await t.http.get('/users/me').set('authorization', `bEaReR ${user.access}`).expect(200)).headers[
        'x-cache'
      ];
    });
    expect({ cache, edge }).toEqual({ cache: 'HIT', edge: 1 });
  });

  it('never serves a hit to a token that is expired, forged, unsigned or not an access token', async () => {
    const user = await signUp(t);
    await warm(t, '/users/me', user.access);
    const claims = decodeJwt(user.access);
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'HS256', typ: 'JWT' };
    const refused = [
      craftJwt(header, { ...claims, iat: now - 7200, exp: now - 3600 }, TEST_JWT_SECRET),
      craftJwt(header, claims, 'another-secret-another-secret-another-1'),
      craftJwt({ alg: 'none', typ: 'JWT' }, claims, TEST_JWT_SECRET),
      craftJwt({ alg: 'HS512', typ: 'JWT' }, claims, TEST_JWT_SECRET, 'sha512'),
      craftJwt(header, { ...claims, typ: 'refresh' }, TEST_JWT_SECRET),
      craftJwt(header, { ...claims, nbf: now + 3600 }, TEST_JWT_SECRET),
      craftJwt(header, { ...claims, exp: undefined }, TEST_JWT_SECRET),
    ];
    for (const token of refused) {
      const res = await t.http.get('/users/me').set(bearer(token));
      expect({ status: res.status, cache: res.headers['x-cache'] }).toEqual({ status: 401, cache: undefined });
      expect(res.body).toMatchObject({ status: 401, type: 'urn:ultrai:problem:unauthorized' });
    }
    // The genuine token still gets its hit, from the edge: the refusals above were the edge's to make.
    expect(await edgeHitsDuring(() => t.http.get('/users/me').set(bearer(user.access)).expect(200))).toBe(1);
  });

  it('never serves a hit on a session that was logged out or revoked', async () => {
    const user = await signUp(t);
    expect(await edgeHitsDuring(() => warm(t, '/documents', user.access))).toBe(1);
    await t.http.post('/auth/logout').set(bearer(user.access)).expect(204);
    await t.http.get('/documents').set(bearer(user.access)).expect(401);

    const again = await logIn(t, user.email, user.password);
    const other = await logIn(t, user.email, user.password);
    await warm(t, '/documents', again.access);
    await warm(t, '/documents', other.access);
    const target = decodeJwt(again.access).sid;
    await t.http.delete(`/auth/sessions/${target}`).set(bearer(other.access)).expect(204);
    await t.http.get('/documents').set(bearer(again.access)).expect(401);
    expect(await edgeHitsDuring(() => t.http.get('/documents').set(bearer(other.access)).expect(200))).toBe(1);
  });

  it('never serves a hit to a user an administrator disabled', async () => {
    const [user, admin] = [await signUp(t), await signUp(t)];
    await makeAdmin(t, admin.id);
    expect(await edgeHitsDuring(() => warm(t, '/users/me', user.access))).toBe(1);
    await t.http.patch(`/users/${user.id}`).set(bearer(admin.access)).send({ disabled: true }).expect(200);
    const res = await t.http.get('/users/me').set(bearer(user.access));
    expect(res.status).toBe(401);
  });
});

describe('response cache TTL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TTL_MS: '400' } });
  });
  afterAll(() => t.close());

  it('expires entries after CACHE_TTL_MS, not before', async () => {
    const user = await signUp(t);
    const stored = Date.now();
    await warm(t, '/users/me', user.access);
    // Reads of a hit do not extend it: poll until the entry is gone (the test's timeout bounds it).
    let cache: unknown = 'HIT';
    while (cache === 'HIT') {
      await sleep(50);
      cache = (await t.http.get('/users/me').set(bearer(user.access)).expect(200)).headers['x-cache'];
    }
    expect(cache).toBe('MISS');
    expect(Date.now() - stored).toBeGreaterThanOrEqual(400);
  });
});

describe('response cache off (CACHE_TTL_MS=0)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CACHE_TTL_MS: '0' } });
  });
  afterAll(() => t.close());

  it('serves every read fresh, without X-Cache', async () => {
    const user = await signUp(t);
    for (let i = 0; i < 2; i++) {
      const res = await t.http.get('/users/me').set(bearer(user.access)).expect(200);
      expect(res.headers['x-cache']).toBeUndefined();
    }
  });
});

describe('rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_MAX: '5', AUTH_RATE_LIMIT_MAX: '3', TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  it('limits each user across routes, with the limit headers, then 429 problem+json with Retry-After', async () => {
    const user = await signUp(t);
    const other = await signUp(t);
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.http
        .get(i % 2 ? '/users/me' : '/documents')
        .set(bearer(user.access))
        .expect(200);
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      remaining.push(res.headers['x-ratelimit-remaining']);
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);
    const refused = await t.http.get('/users/me').set(bearer(user.access)).expect(429);
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toMatchObject({ status: 429, type: 'urn:ultrai:problem:rate-limited' });
    await t.http.get('/users/me').set(bearer(other.access)).expect(200);
  });

  it('never limits the health routes', async () => {
    for (let i = 0; i < 12; i++) await t.http.get('/health').expect(200);
    await t.http.get('/health/ready').expect(200);
  });

  it('limits login per client IP more strictly, and counts each credential route apart', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.7' };
    for (let i = 0; i < 3; i++) {
      const res = await t.http
        .post('/auth/login')
        .set(ip)
        .send({ email: 'nobody@example.com', password: 'wrong-pass' });
      expect(res.status).toBe(401);
      expect(res.headers['x-ratelimit-limit-auth']).toBe('3');
    }
    const refused = await t.http
      .post('/auth/login')
      .set(ip)
      .send({ email: 'nobody@example.com', password: 'wrong-pass' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // another IP, and another credential route, still have their own counts
    await t.http
      .post('/auth/login')
      .set({ 'x-forwarded-for': '198.51.100.8' })
      .send({ email: 'nobody@example.com', password: 'wrong-pass' })
      .expect(401);
    await t.http.post('/auth/refresh').set(ip).send({ refresh_token: 'nope' }).expect(401);
  });

  it('with TRUST_PROXY=1 trusts only the nearest X-Forwarded-For hop: a forged first hop changes nothing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await t.http
        .post('/auth/login')
        .set('x-forwarded-for', `192.0.2.${i}, 198.51.100.77`)
        .send({ email: 'nobody@example.com', password: 'wrong-pass' });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // The nearest hop is the client: another one there has its own count.
    await t.http
      .post('/auth/login')
      .set('x-forwarded-for', '192.0.2.0, 198.51.100.78')
      .send({ email: 'nobody@example.com', password: 'wrong-pass' })
      .expect(401);
  });

  it('counts rejections in /metrics', async () => {
    const rejections = async () =>
      Number(/^rate_limit_rejections_total (\d+)/m.exec((await t.http.get('/metrics').expect(200)).text)?.[1]);
    const before = await rejections();
    const ip = { 'x-forwarded-for': '198.51.100.99' };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (await t.http.post('/auth/login').set(ip).send({ email: 'nobody@example.com', password: 'wrong-pass' })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((await rejections()) - before).toBe(2);
  });
});

describe('refused authentications count against the IP limit', () => {
  const MAX = 5;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_MAX: String(MAX), TRUST_PROXY: '1' } });
  });
  afterAll(() => t.close());

  it('a revoked token gets 401s, then 429 with Retry-After, and costs no session lookup after the first', async () => {
    const user = await signUp(t);
    await t.http.post('/auth/logout').set(bearer(user.access)).expect(204);
    const lookups = jest.spyOn(t.app.get(SessionsRepository), 'findState');
    const ip = { 'x-forwarded-for': '203.0.113.66' };
    const statuses: number[] = [];
    try {
      for (let i = 0; i < MAX + 3; i++) {
        statuses.push(
          (
            await t.http
              .get(i % 2 ? '/documents' : '/users/me')
              .set(ip)
              .set(bearer(user.access))
          ).status,
        );
      }
      expect(lookups.mock.calls.length).toBeLessThanOrEqual(1);
    } finally {
      lookups.mockRestore();
    }
    expect(statuses).toEqual([...Array(MAX).fill(401), 429, 429, 429]);
    const refused = await t.http.get('/users/me').set(ip).set(bearer(user.access)).expect(429);
    expect(refused.headers['content-type']).toMatch(/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another client, and a valid token from the same address (it counts per user), are not affected.
    await t.http.get('/users/me').set({ 'x-forwarded-for': '203.0.113.67' }).set(bearer(user.access)).expect(401);
    const fresh = await logIn(t, user.email, user.password);
    await t.http.get('/users/me').set(ip).set(bearer(fresh.access)).expect(200);
  });

  it('counts forged and missing tokens too', async () => {
    const ip = { 'x-forwarded-for': '203.0.113.88' };
    const forged = craftJwt({ alg: 'HS256', typ: 'JWT' }, { sub: 'x' }, 'not-the-secret-not-the-secret-000');
    const statuses: number[] = [];
    for (let i = 0; i < MAX + 1; i++) {
      statuses.push(
        (await (i % 2 ? t.http.get('/users/me').set(bearer(forged)) : t.http.get('/users/me')).set(ip)).status,
      );
    }
    expect(statuses).toEqual([...Array(MAX).fill(401), 429]);
  });
});

describe('rate limits without TRUST_PROXY', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_RATE_LIMIT_MAX: '2' } });
  });
  afterAll(() => t.close());

  it('ignores X-Forwarded-For, so a client cannot dodge the limit by forging it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.http
        .post('/auth/login')
        .set('x-forwarded-for', `192.0.2.${i}`)
        .send({ email: 'nobody@example.com', password: 'wrong-pass' });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });
});

describe('metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
  });
  afterAll(() => t.close());

  it('needs METRICS_TOKEN when it is set', async () => {
    await t.http.get('/metrics').expect(401);
    await t.http.get('/metrics').set('authorization', 'Bearer wrong').expect(401);
    const user = await signUp(t);
    await t.http.get('/metrics').set(bearer(user.access)).expect(401);
  });

  it('serves Prometheus text: requests and latency by route template and status, db pool, process', async () => {
    const user = await signUp(t);
    const doc = (await uploadText(t, user, 'metric me')).body;
    await t.http.get(`/documents/${doc.id}`).set(bearer(user.access)).expect(200);
    await t.http.get('/nowhere').expect(404);
    const res = await t.http.get('/metrics').set('authorization', 'Bearer metrics-token-0123456789').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^http_requests_total\{method="GET",route="\/documents\/:id",status="200"\} 1$/m);
    expect(res.text).toMatch(/^http_requests_total\{method="GET",route="\(no route\)",status="404"\} 1$/m);
    expect(res.text).toMatch(
      /^http_request_duration_seconds_bucket\{le="0.05",method="GET",route="\/documents\/:id",status="200"\} \d+$/m,
    );
    expect(res.text).not.toContain(doc.id);
    expect(res.text).toMatch(/^db_pool_connections\{state="idle"\} \d+$/m);
    expect(res.text).toMatch(/^db_pool_connections\{state="in_use"\} \d+$/m);
    expect(res.text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(res.text).toMatch(/^cache_hits_total\{layer="edge"\} \d+$/m);
    expect(res.text).not.toContain('layer="pipeline"');
    expect(res.text).toMatch(/^rate_limit_rejections_total \d+$/m);
  });
});

describe('cache health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('reports the cache in /health/cache and /health/ready', async () => {
    const cache = await t.http.get('/health/cache').expect(200);
    expect(cache.body).toEqual(
      REAL_REDIS_URL
        ? { status: 'ok', cache: 'redis', connected: true }
        : { status: 'ok', cache: 'memory', connected: false },
    );
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', details: { cache: { status: 'up' } } });
  });
});

describe('Redis outage (a redis-server of the test’s own)', () => {
  let t: TestApp;
  let redis: OwnRedis;
  let user: Account;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ t, redis, user, close } = await startOnOwnRedis());
  });
  afterAll(() => close());

  it('keeps serving with Redis gone, says degraded, and goes back to Redis when it returns', async () => {
    await t.http.get('/users/me').set(bearer(user.access)).expect(200);
    expect((await t.http.get('/users/me').set(bearer(user.access))).headers['x-cache']).toBe('HIT');

    await redis.kill();
    const failures: string[] = [];
    const expectOk = async (what: string, status: number, run: () => Promise<{ status: number }>) => {
      const res = await run();
      if (res.status !== status) failures.push(`${what}: ${res.status}`);
    };
    for (let i = 0; i < 5; i++) {
      await expectOk('GET /users/me', 200, () => t.http.get('/users/me').set(bearer(user.access)));
      await expectOk('GET /documents', 200, () => t.http.get('/documents').set(bearer(user.access)));
      await expectOk('POST /documents', 201, () =>
        t.http
          .post('/documents')
          .set(bearer(user.access))
          .send({ title: `during outage ${i}`, content: 'x' }),
      );
      await expectOk('POST /auth/login', 200, () =>
        t.http.post('/auth/login').send({ email: user.email, password: user.password }),
      );
    }
    expect(failures).toEqual([]);
    const during = await t.http.get('/users/me').set(bearer(user.access)).expect(200);
    expect(during.headers['x-cache']).toBe('MISS');
    const list = await t.http.get('/documents').set(bearer(user.access)).expect(200);
    expect(list.body.items).toHaveLength(5);

    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'degraded', details: { cache: { status: 'degraded' } } });
    expect((await t.http.get('/health/cache').expect(200)).body).toEqual({
      status: 'degraded',
      cache: 'redis',
      connected: false,
    });

    await redis.start();
    const started = Date.now();
    while ((await t.http.get('/health/cache')).body.connected !== true) {
      if (Date.now() - started > 5000) throw new Error('did not reconnect to Redis within 5 s');
      await sleep(100);
    }
    // Cached again: at once, unless the replay of the outage's invalidations has to be retried.
    const back = Date.now();
    while ((await t.http.get('/users/me').set(bearer(user.access)).expect(200)).headers['x-cache'] !== 'HIT') {
      if (Date.now() - back > 5000) throw new Error('/users/me not cached again within 5 s');
      await sleep(50);
    }
    expect((await t.http.get('/health/ready').expect(200)).body.status).toBe('ok');
  });
});

if (REAL_REDIS_URL) {
  describe('two instances sharing PostgreSQL and Redis (real Redis only: memory cannot be shared)', () => {
    let db: TestDatabase;
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      db = await createTestDatabase();
      // Each test counts logins from its own client address.
      const env = { AUTH_RATE_LIMIT_MAX: '6', TRUST_PROXY: '1' };
      a = await startTestApp({ db, env });
      b = await startTestApp({ db, env });
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await db.drop();
    });

    it('a write on A is seen by the next read on B, never a stale HIT', async () => {
      const user = await signUp(a);
      await b.http.get('/documents').set(bearer(user.access)).expect(200);
      expect((await b.http.get('/documents').set(bearer(user.access))).headers['x-cache']).toBe('HIT');
      await uploadText(a, user, 'written on A');
      const read = await b.http.get('/documents').set(bearer(user.access)).expect(200);
      expect(read.headers['x-cache']).toBe('MISS');
      expect(read.body.items.map((d: { title: string }) => d.title)).toEqual(['written on A']);
      await a.http.post('/auth/logout').set(bearer(user.access)).expect(204);
      await b.http.get('/users/me').set(bearer(user.access)).expect(401);
    });

    it('shares the login limit: attempts split across A and B hit 429 at the same total', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const app = i % 2 === 0 ? a : b;
        statuses.push(
          (
            await app.http
              .post('/auth/login')
              .set('x-forwarded-for', '198.51.100.123')
              .send({ email: 'x@example.com', password: 'wrong-pass' })
          ).status,
        );
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
    });
  });
} else {
  process.stdout.write('cache: the two-instance tests are not registered: no REDIS_URL (memory cannot be shared)\n');
}
