import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort, spawnNode, type Spawned, startMain, until, waitFor200 } from './support/process.js';
import { OwnRedis } from './support/redis.js';

/** Two starts of the server, each up to waitFor200's 60 s on a busy machine. */
const TWO_STARTS_MS = 150_000;

/** The service as a user starts it: `node dist/main.js` with a `.env`, ADMIN_EMAILS, no JWT_SECRET. */
describe('start-up', () => {
  let db: TestDatabase;
  let dir: string;
  const running: Spawned[] = [];

  beforeEach(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), 'ultrai-start-'));
  });
  afterEach(async () => {
    for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  const start = (env: Record<string, string>, cwd?: string) => startMain({ ...db.env, ...env }, running, cwd);

  async function stop(server: Spawned): Promise<void> {
    server.child.kill('SIGTERM');
    expect((await server.exit).code).toBe(0);
  }

  async function call(base: string, method: string, path: string, body?: object, token?: string) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return {
      status: res.status,
      body: (res.status === 204 ? null : await res.json()) as Record<string, string>,
    };
  }

  async function register(base: string, email: string, username: string) {
    return call(base, 'POST', '/auth/register', {
      email,
      username,
      password: 'a long enough password',
    });
  }

  async function login(base: string, email: string): Promise<string> {
    const res = await call(base, 'POST', '/auth/login', {
      email,
      password: 'a long enough password',
    });
    expect(res.status).toBe(200);
    return res.body.access_token;
  }

  it('reads a .env in its working directory; the real environment wins over it', async () => {
    const port = await freePort();
    writeFileSync(join(dir, '.env'), `PORT=${port}\nMETRICS_TOKEN=from-the-env-file\n`);
    // No PORT in the environment: it comes from the file. METRICS_TOKEN is in both.
    const server = spawnNode(['dist/main.js'], { ...db.env, METRICS_TOKEN: 'from-the-environment' }, dir);
    running.push(server);
    const base = `http://127.0.0.1:${port}`;
    await waitFor200(`${base}/health/ready`, server, 60_000);
    const metrics = (token: string) =>
      fetch(`${base}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await metrics('from-the-environment')).status).toBe(200);
    expect((await metrics('from-the-env-file')).status).toBe(401);
    await stop(server);
  });

  it(
    'logs a quiet start: one line for the routes, and the address actually bound',
    async () => {
      const { server } = await start({ HOST: '127.0.0.1' });
      const output = server.output();
      expect(output).not.toMatch(/Mapped \{/);
      expect(output).not.toMatch(/InstanceLoader|RoutesResolver/);
      expect(output).toMatch(/\[Server\] Mapped \d+ routes \(listed at LOG_LEVEL=debug\)/);
      expect(output).toMatch(/Listening on http:\/\/127\.0\.0\.1:\d+; Swagger UI at http:\/\/127\.0\.0\.1:\d+\/docs/);
      await stop(server);

      // On every interface (IPv6 and, on Linux, IPv4 too), at debug: the line says so, and the routes are listed.
      const all = await start({ HOST: '::', LOG_LEVEL: 'debug' });
      expect(all.server.output()).toMatch(
        /Listening on http:\/\/\[::\]:\d+ \(all interfaces\); Swagger UI at http:\/\/localhost:\d+\/docs/,
      );
      const mapped = all.server.output().match(/Mapped \{[^}]+\} route/g) ?? [];
      expect(mapped).toContain('Mapped {/auth/login, POST} route');
      expect(all.server.output()).toContain(`Mapped ${mapped.length} routes`);
      await stop(all.server);
    },
    TWO_STARTS_MS,
  );

  it('prints a start-up failure once, without a stack', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const server = spawnNode(['dist/main.js'], {
        ...db.env,
        PORT: String(port),
      });
      running.push(server);
      expect((await server.exit).code).toBe(1);
      expect(server.output().match(/EADDRINUSE/g)).toEqual(['EADDRINUSE']);
      expect(server.output()).toContain(`Cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
      expect(server.output()).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  });

  it(
    'in development without JWT_SECRET, keeps one secret in DATA_DIR: tokens survive a restart',
    async () => {
      const dataDir = db.env.DATA_DIR ?? join(dir, 'data');
      const env = { NODE_ENV: 'development', JWT_SECRET: '', DATA_DIR: dataDir };
      const first = await start(env);
      expect(first.server.output()).toContain(`using the development secret kept in ${join(dataDir, 'jwt-secret')}`);
      expect((await register(first.base, 'restart@example.com', 'restarter')).status).toBe(201);
      const token = await login(first.base, 'restart@example.com');
      await stop(first.server);
      expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);

      const second = await start(env);
      const me = await call(second.base, 'GET', '/users/me', undefined, token);
      expect(me).toMatchObject({
        status: 200,
        body: { email: 'restart@example.com' },
      });
      await stop(second.server);
    },
    TWO_STARTS_MS,
  );

  it('in production without JWT_SECRET, refuses to start and writes no secret', async () => {
    const dataDir = join(dir, 'data');
    const server = spawnNode(['dist/main.js'], {
      NODE_ENV: 'production',
      JWT_SECRET: '',
      DATA_DIR: dataDir,
      DATABASE_URL: 'postgres://u@127.0.0.1:1/none',
    });
    expect((await server.exit).code).toBe(1);
    expect(server.output().match(/JWT_SECRET is required when NODE_ENV=production/g)).toHaveLength(1);
    expect(() => statSync(join(dataDir, 'jwt-secret'))).toThrow(/ENOENT/);
  });

  it(
    'ADMIN_EMAILS: a registration with one is an administrator; an existing account is promoted at start',
    async () => {
      const before = await start({});
      expect((await register(before.base, 'early@example.com', 'early')).body).toMatchObject({ role: 'user' });
      await stop(before.server);

      const after = await start({
        ADMIN_EMAILS: ' Early@Example.com ,boss@example.com',
      });
      expect(after.server.output()).toContain('[Users] ADMIN_EMAILS: made early@example.com administrator');
      const early = await login(after.base, 'early@example.com');
      expect(await call(after.base, 'GET', '/users/me', undefined, early)).toMatchObject({
        status: 200,
        body: { email: 'early@example.com', role: 'admin' },
      });
      expect(await register(after.base, 'Boss@example.com', 'boss')).toMatchObject({
        status: 201,
        body: { email: 'boss@example.com', role: 'admin' },
      });
      expect(await register(after.base, 'someone@example.com', 'someone')).toMatchObject({
        status: 201,
        body: { role: 'user' },
      });
      // An administrator can use the admin routes at once.
      const boss = await login(after.base, 'boss@example.com');
      expect((await call(after.base, 'GET', '/users', undefined, boss)).status).toBe(200);
      await stop(after.server);
    },
    TWO_STARTS_MS,
  );

  // Node 20 loses the loader for code deserialized from a cache (src/launcher.ts): there the
  // server keeps no cache, and starts (the embedded database loaded by import()) every time.
  const keepsCodeCache = Number(process.versions.node.split('.')[0]) >= 22;

  it(
    keepsCodeCache
      ? "keeps V8's code cache of the bundle in NODE_COMPILE_CACHE: written after the first answer, reused, replaced when unusable"
      : 'keeps no code cache of the bundle on Node 20, and starts on the embedded database each time',
    async () => {
      const cacheDir = join(dir, 'compile-cache');
      const env = { NODE_COMPILE_CACHE: cacheDir };
      const cacheFiles = () => readdirSync(cacheDir).filter((name) => name.endsWith('.v8cache'));

      if (!keepsCodeCache) {
        for (let i = 0; i < 2; i++) {
          const started = await start(env);
          expect(await call(started.base, 'GET', '/health')).toMatchObject({ status: 200 });
          await stop(started.server);
        }
        expect(existsSync(cacheDir) ? cacheFiles() : []).toEqual([]);
        return;
      }

      // Written once the first response (the start's readiness check) is done, as it closes.
      const first = await start(env);
      await until('a code cache written', first.server, () => existsSync(cacheDir) && cacheFiles().length > 0);
      const [cacheFile] = cacheFiles();
      expect(cacheFile).toMatch(/^ultrai-server-[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+-[0-9a-f]{8}\.v8cache$/);
      const firstWrite = statSync(join(cacheDir, cacheFile));
      await stop(first.server);

      // V8 takes it: a start that uses it leaves it as it was.
      const second = await start(env);
      expect(await call(second.base, 'GET', '/health')).toMatchObject({ status: 200 });
      expect(statSync(join(cacheDir, cacheFile)).mtimeMs).toBe(firstWrite.mtimeMs);
      await stop(second.server);

      // One V8 refuses (damaged here; another Node or other flags alike): the server starts
      // without it and writes a good one.
      writeFileSync(join(cacheDir, cacheFile), 'not a code cache');
      const third = await start(env);
      await until(
        'the damaged cache replaced',
        third.server,
        () => readFileSync(join(cacheDir, cacheFile)).length !== 'not a code cache'.length,
      );
      expect(cacheFiles()).toEqual([cacheFile]);
      expect(readFileSync(join(cacheDir, cacheFile)).length).toBeGreaterThan('not a code cache'.length);
      expect(await call(third.base, 'GET', '/health')).toMatchObject({ status: 200 });
      await stop(third.server);
    },
    TWO_STARTS_MS * 2,
  );
  // The bundle loads @redis/client's commands, class-validator's decorators and rxjs's
  // modules on first use (scripts/bundle.mjs): the built server must still cache, count,
  // revoke and validate as the service does.
  it(
    'caches, rate-limits, revokes and validates through the lazily loaded modules of the bundle',
    async () => {
      const redis = new OwnRedis(await freePort());
      await redis.start();
      try {
        const started = await start({ REDIS_URL: `redis://127.0.0.1:${redis.port}` });
        const invalid = await call(started.base, 'POST', '/auth/register', {
          email: 'not an email',
          username: 'lazy',
          password: 'a long enough password',
        });
        expect(invalid.status).toBe(400);
        expect(invalid.body.errors).toEqual([{ field: 'email', message: 'email must be an email address' }]);
        expect((await register(started.base, 'lazy@example.com', 'lazy')).status).toBe(201);
        const token = await login(started.base, 'lazy@example.com');
        const read = () =>
          fetch(`${started.base}/documents?limit=5`, { headers: { authorization: `Bearer ${token}` } });
        const first = await read();
        const second = await read();
        expect([first.status, second.status]).toEqual([200, 200]);
        expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
        expect(await second.json()).toEqual(await first.json());
        expect(Number(second.headers.get('x-ratelimit-remaining'))).toBe(
          Number(first.headers.get('x-ratelimit-remaining')) - 1,
        );
        expect((await call(started.base, 'POST', '/auth/logout', undefined, token)).status).toBe(204);
        expect((await read()).status).toBe(401);
        await stop(started.server);
        expect(await redis.keys()).toBeGreaterThan(0);
      } finally {
        await redis.cleanup();
      }
    },
    TWO_STARTS_MS,
  );
  // The bundle loads Node's TLS modules on first use only (scripts/bundle.mjs, lazy
  // built-ins): a rediss:// URL must still get a verified TLS connection.
  it(
    'speaks TLS to Redis at a rediss:// URL, trusting the CA in NODE_EXTRA_CA_CERTS',
    async () => {
      const fixtures = join(import.meta.dirname, 'fixtures', 'tls');
      const redis = new OwnRedis(await freePort());
      await redis.start();
      // A TLS front for that redis-server, with a certificate for localhost.
      let secureSessions = 0;
      const front: TlsServer = createTlsServer(
        { key: readFileSync(join(fixtures, 'localhost.key')), cert: readFileSync(join(fixtures, 'localhost.crt')) },
        (socket) => {
          secureSessions++;
          const upstream = connect(redis.port, '127.0.0.1');
          socket.pipe(upstream).pipe(socket);
          socket.on('error', () => upstream.destroy());
          upstream.on('error', () => socket.destroy());
        },
      );
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      try {
        const port = (front.address() as { port: number }).port;
        const started = await start({
          REDIS_URL: `rediss://localhost:${port}`,
          NODE_EXTRA_CA_CERTS: join(fixtures, 'localhost.crt'),
        });
        expect(await call(started.base, 'GET', '/health/cache')).toMatchObject({
          status: 200,
          body: { status: 'ok', cache: 'redis', connected: true },
        });
        expect((await register(started.base, 'tls@example.com', 'tls')).status).toBe(201);
        const token = await login(started.base, 'tls@example.com');
        expect((await call(started.base, 'GET', '/documents', undefined, token)).status).toBe(200);
        await stop(started.server);
        // It went through the TLS front: sessions opened, and what it keeps in Redis is there.
        expect(secureSessions).toBeGreaterThan(0);
        expect(await redis.keys()).toBeGreaterThan(0);
      } finally {
        front.close();
        await redis.cleanup();
      }
    },
    TWO_STARTS_MS,
  );
});
