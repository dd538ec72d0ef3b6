// Shared pieces of the fault-injection suite: our own PostgreSQL cluster and
// redis-server on free ports, the built service, and cleanup that runs however
// the suite ends (normal end, failed check, exception, Ctrl-C).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageEnv, rssMiB } from '../../bench/lib.mjs';
import { freePort } from '../../scripts/free-port.mjs';

export const root = new URL('../..', import.meta.url).pathname;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PG_BIN = '/usr/lib/postgresql/15/bin';

// ---------------------------------------------------------------- cleanup
// Everything we start registers an undo step here; steps run newest first,
// synchronously, so they also work from the 'exit' handler.
const undo = [];
let cleaned = false;
export function onCleanup(step) {
  undo.push(step);
}
export function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const step of undo.reverse()) {
    try {
      step();
    } catch {
      /* keep undoing the rest */
    }
  }
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.log(`\n${signal}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  console.error(error);
  cleanup();
  process.exit(1);
});

/** Kills a child we started (by its pid only) if it is still running. */
function killChild(child, signal = 'SIGKILL') {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export { freePort, rssMiB };

// ---------------------------------------------------------------- temp dir
export const tmp = mkdtempSync(join(tmpdir(), 'ultrai-faults-'));
onCleanup(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------- PostgreSQL
/** initdb + start a private cluster, run as the postgres user (it refuses root). */
export async function startPostgres() {
  const port = await freePort();
  const dir = join(tmp, 'pg');
  const data = join(dir, 'data');
  const sockets = join(dir, 'sock');
  mkdirSync(sockets, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chownSync(tmp, uid, gid); // so postgres can traverse into it
  chownSync(dir, uid, gid);
  chownSync(sockets, uid, gid);
  const argv = (cmd, args) => ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args];
  const asPostgres = (cmd, args) => execFileSync('runuser', argv(cmd, args), { stdio: 'pipe', cwd: dir });
  // Async for use under load: the parent must keep reading the load's output meanwhile.
  const asPostgresAsync = (cmd, args) => promisify(execFile)('runuser', argv(cmd, args), { cwd: dir });
  const pgCtl = (args) => ['-w', '-t', '30', '-D', data, ...args];
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pg = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => asPostgresAsync('pg_ctl', ['start', ...pgCtl(['-l', join(dir, 'log'), '-o', options])]),
    stop: (mode = 'fast') => asPostgresAsync('pg_ctl', ['stop', ...pgCtl(['-m', mode])]),
    /** Runs SQL on our cluster (never the machine's own) and returns rows of fields. */
    query(sql, database = 'postgres') {
      const out = execFileSync(
        join(PG_BIN, 'psql'),
        ['-h', sockets, '-p', String(port), '-U', 'postgres', '-d', database, '-At', '-F', '\t', '-c', sql],
        {
          encoding: 'utf8',
        },
      );
      return out
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t'));
    },
  };
  // Immediate stop: the cluster is thrown away anyway.
  onCleanup(() => {
    try {
      asPostgres('pg_ctl', ['stop', ...pgCtl(['-m', 'immediate'])]);
    } catch {
      /* was not running */
    }
  });
  await pg.start();
  return pg;
}

// ---------------------------------------------------------------- Redis
export async function startRedis(port) {
  port ??= await freePort();
  const dir = join(tmp, 'redis');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  onCleanup(() => killChild(child));
  // Ready once it answers PING.
  for (const started = Date.now(); Date.now() - started < 10_000; await sleep(50)) {
    if (child.exitCode !== null) break;
    if (await redisPing(port)) return { port, url: `redis://127.0.0.1:${port}`, child };
  }
  throw new Error(`redis-server on ${port} did not start`);
}

function redisPing(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(500, () => (socket.destroy(), resolve(false)));
    socket.on('data', (d) => (socket.destroy(), resolve(d.toString().startsWith('+PONG'))));
    socket.on('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------- the service
export const JWT_SECRET = 'faults-secret-faults-secret-faults-secret-0123456789';

/**
 * Starts `node dist/main.js` on a free port, with the environment of the image's final
 * stage (allocator, thread pool, V8 heap limit: the faults hit the server as deployed);
 * resolves once /health/ready answers 200.
 */
export async function startService(name, { databaseUrl, redisUrl, env = {} }) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ...imageEnv(),
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      JWT_SECRET,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_MAX: '1000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => killChild(child));
  // Keep the service's own warnings: they explain a failure.
  let output = '';
  const keep = (chunk) => (output = (output + chunk.toString()).slice(-2_000_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal, at: Date.now() }));
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited during start:\n${output}`);
    if (Date.now() - started > 60_000) throw new Error(`${name} not ready after 60 s:\n${output}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(50);
  }
  return {
    name,
    url,
    port,
    databaseUrl,
    child,
    pid: child.pid,
    exited,
    output: () => output,
    kill: (s) => killChild(child, s),
  };
}

// ---------------------------------------------------------------- HTTP helpers
export async function api(url, method, path, { body, token, headers = {}, timeoutMs = 10_000 } = {}) {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: globalThis.AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Registers and logs in `count` users; returns [{ email, password, token, id }]. */
export async function makeUsers(url, prefix, count) {
  const users = [];
  for (let i = 0; i < count; i++) {
    const email = `${prefix}-${i}-${Date.now()}@example.com`;
    const password = `pw-${prefix}-${i}-long-enough`;
    const reg = await api(url, 'POST', '/auth/register', { body: { email, password, username: `${prefix}_${i}` } });
    if (reg.status !== 201) throw new Error(`register ${email}: ${reg.status} ${reg.text}`);
    const login = await api(url, 'POST', '/auth/login', { body: { email, password } });
    if (login.status !== 200) throw new Error(`login ${email}: ${login.status} ${login.text}`);
    users.push({ email, password, token: login.json.access_token, id: login.json.user.id });
  }
  return users;
}
