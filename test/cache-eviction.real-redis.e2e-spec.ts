import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from './support/app.js';
import { bearer, signUp } from './support/auth.js';
import { freePort, ROOT } from './support/process.js';

/** The Key Value policy the Blueprint deploys with. */
const POLICY: string = parse(readFileSync(join(ROOT, 'render.yaml'), 'utf8')).services.find(
  (s: { type: string }) => s.type === 'keyvalue',
).maxmemoryPolicy;

/**
 * Needs redis-server on PATH (as the fault suite does): a Redis of its own, small
 * and with the Blueprint's eviction policy, that the test fills up.
 */
describe(`a full Redis (maxmemory-policy ${POLICY}, needs redis-server)`, () => {
  let redis: ChildProcess;
  let redisUrl: string;
  let t: TestApp;

  beforeAll(async () => {
    const port = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'].concat([
        '--maxmemory',
        '3mb',
        '--maxmemory-policy',
        POLICY,
      ]),
      { stdio: 'ignore' },
    );
    redis.on('error', (error) => {
      throw new Error(`this test needs redis-server on PATH: ${error.message}`);
    });
    redisUrl = `redis://127.0.0.1:${port}`;
    // A fresh client each try (a failed one keeps reconnecting on its own), for up to 30 s:
    // a loaded machine (CI runs suites side by side) can take seconds to start a process.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const probe = createClient({ url: redisUrl, socket: { reconnectStrategy: false } });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.close();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error('redis-server did not start within 30 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    t = await startTestApp({
      env: {
        REDIS_URL: redisUrl,
        TRUST_PROXY: '1',
        AUTH_RATE_LIMIT_MAX: '3',
        CACHE_TTL_MS: '120000',
        // One account may fill Redis here: what matters is what a full Redis does to the limits.
        CACHE_MAX_ENTRIES_PER_USER: '100000',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    redis?.kill('SIGKILL');
  });

  it('keeps counting a login limit while cached answers fill the memory', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.9' };
    const tries = [];
    for (let i = 0; i < 3; i += 1) {
      tries.push(
        (await t.http.post('/auth/login').set(attacker).send({ email: 'x@example.com', password: 'nope nope' })).status,
      );
    }
    expect(tries).toEqual([401, 401, 401]);

    // Large answers under many distinct URLs: far more than 3 MB of entries.
    const user = await signUp(t);
    const title = 't'.repeat(190);
    const tags = Array.from({ length: 20 }, (_, i) => `${'g'.repeat(45)}${i}`);
    for (let i = 0; i < 40; i += 1) {
      await t.http
        .post('/documents')
        .set(bearer(user.access))
        .send({ title: `${title}${i}`, content: 'x', tags })
        .expect(201);
    }
    for (const sort of ['createdAt', 'title']) {
      for (let limit = 1; limit <= 100; limit += 1) {
        // Every read still answers while Redis is full.
        await t.http.get(`/documents?limit=${limit}&sort=${sort}`).set(bearer(user.access)).expect(200);
      }
    }
    const info = createClient({ url: redisUrl });
    await info.connect();
    const stats = `${await info.info('stats')}${await info.info('errorstats')}`;
    await info.close();
    const evicted = Number(/evicted_keys:(\d+)/.exec(stats)?.[1] ?? 0);
    const refused = Number(/errorstat_OOM:count=(\d+)/.exec(stats)?.[1] ?? 0);
    // Redis did run out of memory (it evicted, or refused writes)...
    expect(evicted + refused).toBeGreaterThan(0);

    // ...and the attacker's fourth attempt is still the one over the limit.
    const fourth = await t.http
      .post('/auth/login')
      .set(attacker)
      .send({ email: 'x@example.com', password: 'nope nope' });
    expect(fourth.status).toBe(429);
    expect(fourth.headers['retry-after']).toMatch(/^\d+$/);
  });
});
