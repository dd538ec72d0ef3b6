// Shared pieces of the benchmarks: start the built server, run autocannon, print.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { freePort } from '../scripts/free-port.mjs';
import { imageEnv } from '../scripts/image-env.mjs';
import autocannon from 'autocannon';

export const root = new URL('..', import.meta.url).pathname;

export { freePort, imageEnv };

export function rssMiB(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match[1]) / 1024;
}

/**
 * A CPU-limited cgroup (as `podman run --cpus <cpus>`: a CFS quota), or undefined where
 * this process may not make one. Returns the file a process writes its pid to, and a cleanup.
 */
function cpuLimitedGroup(cpus) {
  const period = 100_000;
  const v1 = '/sys/fs/cgroup/cpu';
  const v2 = '/sys/fs/cgroup';
  const name = `ultrai-bench-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    if (existsSync(join(v2, 'cgroup.controllers'))) {
      const dir = join(v2, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'cpu.max'), `${Math.round(cpus * period)} ${period}`);
      return { procs: join(dir, 'cgroup.procs'), remove: () => rmdirSync(dir) };
    }
    const dir = join(v1, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(cpus * period)));
    return { procs: join(dir, 'cgroup.procs'), remove: () => rmdirSync(dir) };
  } catch {
    return undefined;
  }
}

const BENCH_BUILDS = join(root, '.bench-builds');

/**
 * The builds a comparison runs, from its command line (`dist /tmp/dist-before`): each one's
 * main.js (for startServer's `script`) and the Node flags given after `+` (`dist+--flag`).
 * A build directory outside the project is copied in as .bench-builds/<n>, so it finds
 * node_modules as dist/main.js does; `remove()` deletes those copies.
 */
export function benchBuilds(specs) {
  rmSync(BENCH_BUILDS, { recursive: true, force: true });
  const builds = specs.map((spec, i) => {
    const [dir, ...flags] = spec.split('+');
    const absolute = isAbsolute(dir) ? dir : resolve(dir);
    if (absolute.startsWith(root)) return { label: spec, flags, script: join(absolute.slice(root.length), 'main.js') };
    cpSync(absolute, join(BENCH_BUILDS, String(i)), { recursive: true });
    return { label: spec, flags, script: `.bench-builds/${i}/main.js` };
  });
  return { builds, remove: () => rmSync(BENCH_BUILDS, { recursive: true, force: true }) };
}

/** CPU time (user + system) a process has used so far, in microseconds, from /proc. */
export function cpuMicros(pid) {
  const fields = procStat(pid);
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/**
 * CPU time the process's threads have used so far, in microseconds, to the nanosecond
 * (/proc/PID/task/TID/schedstat; /proc/PID/stat counts in 10 ms ticks, too coarse for one
 * start of ~300 ms). Falls back to cpuMicros where the kernel keeps no schedstat.
 */
export function threadsCpuMicros(pid) {
  try {
    let nanos = 0;
    for (const task of readdirSync(`/proc/${pid}/task`))
      nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return nanos / 1000;
  } catch {
    return cpuMicros(pid);
  }
}

/** The fields of /proc/PID/stat after the command's name (state first). */
function procStat(pid) {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
}

/**
 * Page faults of a process so far (minor and major, all its threads: /proc/PID/stat). Each is
 * a trap into the kernel, and on a virtual machine whose hypervisor keeps the page tables
 * (this project's test machine: PVM, ~11-15 µs a fault) a start's ~13,000 cost ~150 ms of
 * its CPU; 0 where the kernel does not say.
 */
export function pageFaults(pid) {
  try {
    const fields = procStat(pid);
    return Number(fields[7]) + Number(fields[9]); // minflt, majflt
  } catch {
    return 0;
  }
}

/**
 * Starts `node dist/main.js` (or another build's main.js, with the image's environment:
 * imageEnv) or `script` (with only `env`), and resolves once `readyPath` answers 200.
 * `nodeArgs` go before the script (--cpu-prof, say).
 */
export async function startServer(
  env,
  { script = 'dist/main.js', readyPath = '/health/ready', cpus, nodeArgs = [] } = {},
) {
  const port = await freePort();
  const group = cpus === undefined ? undefined : cpuLimitedGroup(cpus);
  if (cpus !== undefined && !group) return undefined;
  const started = performance.now();
  // In a CPU-limited group, a shell joins it and then becomes node (same pid).
  const [command, args] = group
    ? ['/bin/sh', ['-c', `echo $$ > ${group.procs} && exec "$0" "$@"`, process.execPath, ...nodeArgs, script]]
    : [process.execPath, [...nodeArgs, script]];
  const child = spawn(command, args, {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ...(/(^|\/)main\.js$/.test(script) ? imageEnv() : {}),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret!',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error('server exited during start');
    try {
      if ((await fetch(`${url}${readyPath}`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const coldStartMs = performance.now() - started;
  return {
    url,
    pid: child.pid,
    coldStartMs,
    /** CPU the process used from spawn to ready. */
    coldStartCpuMs: threadsCpuMicros(child.pid) / 1000,
    /** Page faults from spawn to ready. */
    coldStartFaults: pageFaults(child.pid),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      group?.remove();
    },
  };
}

export async function json(url, method, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** Runs autocannon; returns req/s, latency percentiles (ms) and the count of non-2xx answers and errors. */
export async function load(options) {
  const settings = { connections: 50, duration: 10, ...options };
  if (settings.amount !== undefined) delete settings.duration;
  const result = await autocannon(settings);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

export function row(label, r) {
  return `${label.padEnd(44)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(4)} ms   p99 ${String(r.p99).padStart(4)} ms   failed ${r.failed}`;
}

/** The service's settings in the benchmarks: real PostgreSQL and Redis, limits out of the way. */
export function serviceEnv(databaseUrl, redisUrl, keyPrefix) {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${keyPrefix}${Date.now()}:`,
    RATE_LIMIT_MAX: '10000000',
    AUTH_RATE_LIMIT_MAX: '10000000',
    USER_QUOTA_BYTES: String(Number.MAX_SAFE_INTEGER),
  };
}

/** Registers the bench user on `url` and logs in: its email, password and `Authorization` header. */
export async function benchUser(url) {
  const email = 'bench@example.com';
  const password = 'bench password 123';
  await json(`${url}/auth/register`, 'POST', { email, password, username: 'bench' });
  const { access_token: token } = await json(`${url}/auth/login`, 'POST', { email, password });
  return { email, password, auth: { authorization: `Bearer ${token}` } };
}

/** seedDocuments on `databaseUrl`, then one document of `email`'s and the documents in the table. */
export async function seedForUser(databaseUrl, email) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await seedDocuments(client);
    const { rows } = await client.query(
      `SELECT d.id FROM documents d JOIN users u ON u.id = d.owner_id WHERE u.email = $1 LIMIT 1`,
      [email],
    );
    const count = Number((await client.query('SELECT count(*) FROM documents')).rows[0].count);
    return { documentId: rows[0].id, documentsInTable: count };
  } finally {
    await client.end();
  }
}

/** A fresh database on the server named by `adminUrl`, dropped by `drop()`. */
export async function freshDatabase(adminUrl, prefix = 'ultrai_bench') {
  const { default: pg } = await import('pg');
  const name = `${prefix}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * RSS once it has settled: sampled each second for at least `minMs` (V8's memory
 * reducer starts about 8 s after the last burst of allocation), then until 3 s pass
 * without a drop, at most `maxMs`. Returns the last sample.
 */
export async function settledRssMiB(pid, minMs = 12_000, maxMs = 25_000) {
  const started = performance.now();
  let last = rssMiB(pid);
  let lastDrop = started;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= maxMs || (elapsed >= minMs && performance.now() - lastDrop >= 3000)) return last;
    await new Promise((r) => setTimeout(r, 1000));
    const now = rssMiB(pid);
    if (now < last - 0.5) lastDrop = performance.now();
    last = now;
  }
}

export function peakRssMiB(pid) {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match[1]) / 1024;
}

/** A multipart/form-data body with one file, built once and sent many times. */
export function multipartBody(filename, type, data) {
  const boundary = `----ultrai-bench-${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, data, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * 99 more users beside the one already registered, and 10,000 documents spread
 * evenly over all 100, written straight to the tables; each has 60 words of
 * text from a 20-word alphabet, so every search word matches many documents.
 */
export async function seedDocuments(client) {
  await client.query(`
    INSERT INTO users (email, username, password_hash)
    SELECT 'seed' || i || '@example.com', 'seed' || i, 'x' FROM generate_series(1, 99) i`);
  await client.query(`
    WITH words AS (SELECT ARRAY['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet',
                                'kilo','lima','mike','november','oscar','papa','quebec','romeo','sierra','tango'] AS w),
         owners AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users)
    INSERT INTO documents (owner_id, title, filename, mime_type, size, sha256, tags, text_content)
    SELECT o.id, 'Doc ' || g || ' ' || w[1 + g % 20], 'doc' || g || '.txt', 'text/plain', 100, repeat('0', 64),
           ARRAY[w[1 + g % 7]], (SELECT string_agg(w[1 + (g * k) % 20], ' ') FROM generate_series(1, 60) k)
    FROM generate_series(0, 9999) g CROSS JOIN words JOIN owners o ON o.n = g % 100`);
  await client.query('ANALYZE');
}
