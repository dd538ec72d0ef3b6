import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { REAL_DATABASE_URL, realPostgres } from './support/env.js';
import { freePort, type Spawned, spawnNode, until, waitFor200 } from './support/process.js';

const PRODUCTION_SECRET = 'a-production-secret-of-forty-characters!';

async function stop(server: Spawned): Promise<number | null> {
  server.child.kill('SIGTERM');
  return (await server.exit).code;
}

/** A PostgreSQL URL nothing listens on (a port just freed). */
async function unreachableDatabase(): Promise<string> {
  return `postgres://nobody@127.0.0.1:${await freePort()}/nothing`;
}

describe('the real process', () => {
  const running: Spawned[] = [];
  afterEach(() => {
    for (const server of running.splice(0)) server.child.kill('SIGKILL');
  });

  describe('production logs', () => {
    let db: TestDatabase | undefined;
    beforeAll(async () => {
      if (realPostgres) db = await createTestDatabase();
    });
    afterAll(() => db?.drop());

    it('are JSON lines on its output, one per answer with its request id, and never a secret', async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      // On the embedded run there is no PostgreSQL for production: the service starts anyway and retries.
      const server = spawnNode(['dist/main.js'], {
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        PORT: String(port),
        JWT_SECRET: PRODUCTION_SECRET,
        DATABASE_URL: db?.env.DATABASE_URL ?? (await unreachableDatabase()),
      });
      running.push(server);
      await waitFor200(`${base}/health`, server);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${base}/health`, { headers: { 'x-request-id': `prod-log-${i}` } });
        expect(res.status).toBe(200);
      }
      await until('the last answer logged', server, () => server.output().includes('"prod-log-2"'));
      expect(await stop(server)).toBe(0);

      const lines = server
        .output()
        .split('\n')
        .filter((line) => line !== '');
      const entries = lines.map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`not a JSON line: ${line}`);
        }
      });
      expect(entries.length).toBeGreaterThan(3);
      for (const entry of entries) expect(entry).toMatchObject({ level: expect.any(String) });
      expect(entries.some((e) => String(e.message ?? e.msg).includes('Listening on'))).toBe(true);
      for (let i = 0; i < 3; i++) {
        expect(entries.filter((e) => e.requestId === `prod-log-${i}`)).toEqual([
          expect.objectContaining({ method: 'GET', route: '/health', status: 200 }),
        ]);
      }
      expect(server.output()).not.toContain(PRODUCTION_SECRET);
    });
  });

  describe('DATABASE_SSL (a TLS endpoint of the test’s own, with a self-signed certificate)', () => {
    let dir: string;
    let key: Buffer;
    let cert: Buffer;
    let endpoint: Server;
    let port: number;
    const handshakes: string[] = [];
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ultrai-ssl-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
        ],
        { stdio: 'ignore' },
      );
      key = readFileSync(join(dir, 'key.pem'));
      cert = readFileSync(join(dir, 'cert.pem'));
      // PostgreSQL's way in: an 8-byte SSLRequest, answered 'S', then a TLS handshake on the same socket.
      endpoint = createServer((socket: Socket) => {
        socket.on('error', () => undefined);
        socket.once('data', (request: Buffer) => {
          if (request.length !== 8 || request.readUInt32BE(4) !== 80877103) return void socket.destroy();
          socket.write('S');
          const tls = new TLSSocket(socket, { isServer: true, key, cert });
          tls.on('secure', () => handshakes.push('completed'));
          tls.on('error', (error: Error) => handshakes.push(`refused: ${error.message}`));
        });
      });
      port = await freePort();
      await new Promise<void>((resolve) => endpoint.listen(port, '127.0.0.1', resolve));
    });
    afterAll(() => {
      endpoint.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const startAgainst = async (ssl: string) => {
      const appPort = await freePort();
      const server = spawnNode(['dist/main.js'], {
        PORT: String(appPort),
        DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/nothing`,
        DATABASE_SSL: ssl,
      });
      running.push(server);
      await waitFor200(`http://127.0.0.1:${appPort}/health`, server);
      return { server, base: `http://127.0.0.1:${appPort}` };
    };

    it('=true refuses a certificate it cannot verify: no database, readiness 503', async () => {
      handshakes.length = 0;
      const { server, base } = await startAgainst('true');
      await until('the refusal logged', server, () => server.output().includes('PostgreSQL is not reachable'));
      expect(server.output()).toMatch(/PostgreSQL is not reachable \([^)]*self[-_ ]signed/i);
      expect((await fetch(`${base}/health/ready`)).status).toBe(503);
      expect(handshakes).not.toContain('completed');
    });

    it('=no-verify completes the handshake with the same endpoint (what =true refused was the certificate)', async () => {
      handshakes.length = 0;
      await startAgainst('no-verify');
      await until('a TLS handshake', running[0], () => handshakes.includes('completed'));
    });
  });

  if (realPostgres) {
    describe('a database that arrives after the start (real PostgreSQL)', () => {
      const name = `${new URL(REAL_DATABASE_URL!).pathname.slice(1) || 'ultrai'}_late${Math.random().toString(36).slice(2, 8)}`;
      const admin = async (sql: string) => {
        const client = new pg.Client({ connectionString: REAL_DATABASE_URL });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      };
      afterAll(() => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));

      it('serves /health at once, answers ready 503 until the database exists, then migrates and serves', async () => {
        const url = new URL(REAL_DATABASE_URL!);
        url.pathname = `/${name}`;
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        const server = spawnNode(['dist/main.js'], { PORT: String(port), DATABASE_URL: url.toString() });
        running.push(server);
        await waitFor200(`${base}/health`, server);
        expect((await fetch(`${base}/health/ready`)).status).toBe(503);
        expect(server.output()).toContain('PostgreSQL is not reachable');

        await admin(`CREATE DATABASE "${name}"`);
        await until(
          'ready once the database exists',
          server,
          async () => (await fetch(`${base}/health/ready`)).status === 200,
        );
        const registered = await fetch(`${base}/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'late@example.com', username: 'late', password: 'a long enough password' }),
        });
        expect(registered.status).toBe(201);
        expect(await stop(server)).toBe(0);
      });
    });
  } else {
    process.stdout.write('start-conditions: the late-database test is not registered: it needs DATABASE_URL\n');
  }
});
