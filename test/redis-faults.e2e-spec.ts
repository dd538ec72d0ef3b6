import type { TestApp } from './support/app.js';
import { type Account, bearer } from './support/auth.js';
import { type OwnRedis, startOnOwnRedis } from './support/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done` is true; fails after `timeoutMs`. */
async function until(what: string, done: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('a hung Redis (SIGSTOP, a redis-server of the test’s own)', () => {
  let t: TestApp;
  let redis: OwnRedis;
  let user: Account;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ t, redis, user, close } = await startOnOwnRedis());
  });
  afterAll(() => close());

  it('costs each Redis command at most REDIS_COMMAND_TIMEOUT_MS: every request is still answered, and right', async () => {
    await t.http.post('/documents').set(bearer(user.access)).send({ title: 'before', content: 'x' }).expect(201);
    await t.http.get('/documents').set(bearer(user.access)).expect(200);
    expect((await t.http.get('/documents').set(bearer(user.access))).headers['x-cache']).toBe('HIT');

    // The connection stays open and nothing is answered: without the bound, these requests
    // would wait forever (node-redis queues commands on a live connection). A request not
    // answered within 10 s (fifty times the bound) fails the test instead of hanging it.
    const HUNG = 10_000;
    redis.pause();
    try {
      const me = await t.http.get('/users/me').set(bearer(user.access)).timeout(HUNG).expect(200);
      expect(me.body).toMatchObject({ id: user.id, email: user.email });
      await t.http
        .post('/documents')
        .set(bearer(user.access))
        .send({ title: 'while hung', content: 'y' })
        .timeout(HUNG)
        .expect(201);
      // The write's invalidation could not reach Redis: the list is read fresh, never the cached one.
      const list = await t.http.get('/documents').set(bearer(user.access)).timeout(HUNG).expect(200);
      expect(list.headers['x-cache']).not.toBe('HIT');
      expect(list.body.items.map((d: { title: string }) => d.title).sort()).toEqual(['before', 'while hung']);
      const login = await t.http
        .post('/auth/login')
        .send({ email: user.email, password: user.password })
        .timeout(HUNG)
        .expect(200);
      expect(login.body.access_token).toEqual(expect.any(String));
    } finally {
      redis.resume();
    }
  });
});

describe('a cache invalidation replayed to a Redis that kept its data (a redis-server of the test’s own)', () => {
  let t: TestApp;
  let redis: OwnRedis;
  let user: Account;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ t, redis, user, close } = await startOnOwnRedis({ keepsData: true, logs: { level: 'warn', json: false } }));
  });
  afterAll(() => close());

  /** A document read from the cache as 'old title', then renamed 'new title' while Redis is down; its path. */
  async function cachedThenRenamedDuringOutage(): Promise<string> {
    const created = await t.http
      .post('/documents')
      .set(bearer(user.access))
      .send({ title: 'old title', content: 'x' })
      .expect(201);
    const path = `/documents/${created.body.id}`;
    await t.http.get(path).set(bearer(user.access)).expect(200);
    const cached = await t.http.get(path).set(bearer(user.access)).expect(200);
    expect(cached.headers['x-cache']).toBe('HIT');
    expect(cached.body.title).toBe('old title');

    await redis.kill();
    await t.http.patch(path).set(bearer(user.access)).send({ title: 'new title' }).expect(200);
    expect((await t.http.get(path).set(bearer(user.access)).expect(200)).body.title).toBe('new title');
    return path;
  }

  /** Reads `path` until it is a HIT, noting each title read. */
  async function untilCachedAgain(path: string, titles: string[]): Promise<void> {
    await until('cached again after the replay', async () => {
      const res = await t.http.get(path).set(bearer(user.access)).expect(200);
      titles.push(res.body.title);
      return res.headers['x-cache'] === 'HIT';
    });
  }

  it('never serves the entry cached before the outage: the write made during it is replayed when Redis is back', async () => {
    const path = await cachedThenRenamedDuringOutage();

    // Back with everything it had: the old answer, under the generation it was cached with.
    await redis.start();
    expect(await redis.keys()).toBeGreaterThan(0);
    await until('Redis reconnected', async () => (await t.http.get('/health/cache')).body.connected === true);

    // Once the invalidation is replayed, reads are cached again: never with the old title.
    const titles: string[] = [];
    await untilCachedAgain(path, titles);
    expect(new Set(titles)).toEqual(new Set(['new title']));
  });

  it('tries a replay that failed again while Redis stays up: reads are cached again once it goes through, never stale', async () => {
    const path = await cachedThenRenamedDuringOutage();

    // Back with the old answer, but refusing the script that moves the generation on:
    // the replay on reconnection fails.
    await redis.start({ denyEval: true });
    await until('Redis reconnected', async () => (await t.http.get('/health/cache')).body.connected === true);
    await until('the failed replay reported', async () =>
      t.logs.some((line) => line.includes('Could not replay a cache invalidation')),
    );
    const titles: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.http.get(path).set(bearer(user.access)).expect(200);
      titles.push(res.body.title);
      expect(res.headers['x-cache']).toBe('MISS');
    }

    // Redis takes the script again, with no reconnection: a retry replays the invalidation.
    await redis.allowEval();
    await untilCachedAgain(path, titles);
    expect(new Set(titles)).toEqual(new Set(['new title']));
  });
});
