// Fault-injection suite: the built service (dist/main.js) on our own
// PostgreSQL cluster and redis-server, under a load from a second process,
// while Redis dies, PostgreSQL restarts, the service gets SIGTERM, one of two
// instances gets SIGKILL; then a bad-input sweep over every documented
// operation. Each scenario is one check; the last line is "N passed, N failed".
//
//   node test/faults/run.mjs            (after npm run build)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';
import {
  api,
  cleanup,
  freePort,
  makeUsers,
  onCleanup,
  sleep,
  startPostgres,
  startRedis,
  startService,
} from './lib.mjs';
import { storageOutage } from './storage-outage.mjs';
import { sweep } from './sweep.mjs';
import { unreadDownloads } from './unread-downloads.mjs';
import { eventsWithoutRedis } from './events-redis-down.mjs';

const suiteStarted = Date.now();
const results = [];
/** One scenario = one check: it prints what it did and throws with the reasons when it fails. */
async function check(name, run) {
  // FAULTS_ONLY=2,5 runs only those scenarios (while working on one).
  const only = process.env.FAULTS_ONLY?.split(',');
  if (only && !only.includes(name.split('.')[0])) return;
  console.log(`\n== ${name}`);
  const started = Date.now();
  try {
    await run();
    results.push(true);
    console.log(`ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push(false);
    console.log(`FAIL  ${name}: ${error.message}`);
  }
}

/** Throws one error listing every problem (the first few of each kind shown in full). */
function assertNoProblems(problems) {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 60).map((p) => `\n      - ${p}`);
  throw new Error(`${problems.length} problem(s):${shown.join('')}${problems.length > 60 ? '\n      - ...' : ''}`);
}

// ---------------------------------------------------------------- the load process
/** Spawns load.mjs; resolves `done` with every request record once it stopped by itself (or on stop()). */
function runLoad(config) {
  const child = spawn(process.execPath, [new URL('./load.mjs', import.meta.url).pathname, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  onCleanup(() => child.exitCode === null && child.kill('SIGKILL'));
  const records = [];
  const bugs = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const record = JSON.parse(line);
    if (record.type === 'request') records.push(record);
    if (record.type === 'bug') bugs.push(record.error);
  });
  if (process.env.FAULTS_DUMP)
    child.on('exit', () =>
      writeFileSync(`${process.env.FAULTS_DUMP}/load-${Date.now()}.json`, JSON.stringify(records)),
    );
  const done = new Promise((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0 && bugs.length === 0
        ? resolve(records)
        : reject(new Error(`load process exited ${code}: ${bugs.join('; ')}`)),
    );
  });
  return { records, done, stop: () => child.stdin.write('stop\n') };
}

const EXPECTED = { read: 200, login: 200, upload: 201 };
const ok = (r) => r.status === EXPECTED[r.kind];
const isProblem = (r) => (r.contentType ?? '').startsWith('application/problem+json');
const describe = (r, t0) =>
  `${r.method} ${r.path}${r.kind === 'upload' ? ' (JSON {title, content})' : ''} → ${r.status ?? r.error}${r.target ? ` (${r.target})` : ''} at +${r.start - t0} ms, took ${r.end - r.start} ms${r.requestId ? `, request id ${r.requestId}` : ''}${r.body ? `: ${r.body.slice(0, 160)}` : ''}`;

/** A service that died by itself fails the scenario at once, with what it last wrote. */
function assertAlive(svc) {
  if (svc.child.exitCode === null && svc.child.signalCode === null) return;
  const tail = svc
    .output()
    .split('\n')
    .filter((line) => !line.includes('"context":"Unhandled"'))
    .join('\n')
    .slice(-2500);
  throw new Error(
    `service "${svc.name}" exited by itself (code ${svc.child.exitCode}, signal ${svc.child.signalCode}); its last output:\n${tail}`,
  );
}

/** The service's own log lines about a request (its stack trace for a 500). */
function serviceLog(services, records) {
  const lines = [];
  for (const r of records.filter((r) => r.status >= 500 && r.status !== 503 && r.requestId)) {
    for (const svc of services)
      for (const line of svc.output().split('\n'))
        if (line.includes(r.requestId)) lines.push(`  log of ${svc.name}: ${line.slice(0, 1500)}`);
  }
  if (lines.length) console.log(lines.join('\n'));
}

/** "reads 240 (200: 240) | logins 96 (200: 96) | uploads 144 (201: 144)" */
function counts(records) {
  const parts = [];
  for (const kind of ['read', 'login', 'upload']) {
    const mine = records.filter((r) => r.kind === kind);
    const by = {};
    for (const r of mine) by[r.status ?? r.error] = (by[r.status ?? r.error] ?? 0) + 1;
    parts.push(
      `${kind}s ${mine.length} (${Object.entries(by)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')})`,
    );
  }
  return parts.join(' | ');
}

/** One request with node:http (optionally on a keep-alive agent), recorded like the load's. */
function timed(url, method, path, body, agent = false, token) {
  const r = { kind: path === '/auth/login' ? 'login' : 'read', method, path, start: Date.now() };
  return new Promise((resolve) => {
    const req = request(
      url + path,
      {
        method,
        agent,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        r.reused = req.reusedSocket;
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          Object.assign(r, {
            status: res.statusCode,
            contentType: res.headers['content-type'],
            requestId: res.headers['x-request-id'],
            end: Date.now(),
          });
          if (res.statusCode >= 400) r.body = Buffer.concat(chunks).toString().slice(0, 300);
          resolve(r);
        });
      },
    );
    req.on('error', (error) =>
      resolve(Object.assign(r, { error: error.code ?? String(error), end: Date.now(), reused: req.reusedSocket })),
    );
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

// ---------------------------------------------------------------- data checks
/**
 * Every upload that got a 201 is stored with the sha256 of what was sent (in
 * the row, in the stored bytes, and in what the service serves back), and no
 * document of these users exists without a 201 (unless `inDoubt` holds the
 * sha256 of an upload whose outcome the client could not know).
 */
async function verifyUploads({ pg, url, users, records, inDoubt = new Set() }) {
  const problems = [];
  const created = records.filter((r) => r.kind === 'upload' && r.status === 201);
  for (const r of created)
    if (r.gotSha256 !== r.sha256) problems.push(`201 for ${r.id} says sha256 ${r.gotSha256}, sent ${r.sha256}`);
  const owners = users.map((u) => `'${u.id}'`).join(',');
  const rows = pg.query(
    `select d.id, d.sha256, encode(sha256(coalesce((select string_agg(c.data, ''::bytea order by c.seq) from storage_chunks c where c.object_key = v.storage_key), ''::bytea)), 'hex')
       from documents d left join document_versions v on v.document_id = d.id and v.n = d.content_version where d.owner_id in (${owners})`,
  );
  const stored = new Map(rows.map(([id, sha, dataSha]) => [id, { sha, dataSha }]));
  for (const r of created) {
    const row = stored.get(r.id);
    if (!row) problems.push(`upload ${r.id} got 201 but is not in the database`);
    else if (row.sha !== r.sha256 || row.dataSha !== r.sha256)
      problems.push(`upload ${r.id}: stored sha256 ${row.sha}, bytes hash ${row.dataSha}, sent ${r.sha256}`);
  }
  const createdIds = new Set(created.map((r) => r.id));
  let explained = 0;
  for (const [id, row] of stored) {
    if (createdIds.has(id)) continue;
    if (inDoubt.has(row.sha)) explained++;
    else problems.push(`document ${id} (sha256 ${row.sha}) exists but no upload got a 201 for it`);
  }
  // What the service serves back, byte for byte.
  const tokenOf = new Map(users.map((u, i) => [i, u.token]));
  let served = 0;
  for (const r of created) {
    const res = await fetch(`${url}/documents/${r.id}/content`, {
      headers: { authorization: `Bearer ${tokenOf.get(r.user)}` },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (res.status !== 200 || sha !== r.sha256)
      problems.push(`GET /documents/${r.id}/content → ${res.status}, sha256 ${sha}, sent ${r.sha256}`);
    else served++;
  }
  console.log(
    `  data: ${created.length} uploads got 201; ${stored.size} documents in the database for these users; ${served} served back byte-identical${explained ? `; ${explained} extra explained by in-doubt uploads` : ''}`,
  );
  return problems;
}

// ---------------------------------------------------------------- setup
const pg = await startPostgres();
let redis = await startRedis();
console.log(
  `PostgreSQL 15 on 127.0.0.1:${pg.port}, redis-server on 127.0.0.1:${redis.port} (both ours, removed at the end)`,
);
const backing = { databaseUrl: pg.url, redisUrl: redis.url };
const main = await startService('main', backing);
console.log(`service "main" on ${main.url} (pid ${main.pid})`);

try {
  // ------------------------------------------------------------ 1. Redis dies
  await check('1. Redis killed (SIGKILL) for 5 s under load, then restarted on the same port', async () => {
    const users = await makeUsers(main.url, 'redis', 4);
    const [probe] = await makeUsers(main.url, 'probe', 1);
    await api(main.url, 'GET', '/documents?limit=50', { token: probe.token }); // warm its cache
    const load = runLoad({ targets: [main.url], users, rate: 40, durationMs: 14_000 });
    const t0 = Date.now();
    await sleep(4000);
    redis.child.kill('SIGKILL');
    const killedAt = Date.now();
    console.log(`  redis-server SIGKILLed at +${killedAt - t0} ms`);
    await sleep(1000);
    // A write while Redis is down: its cache invalidation cannot be written
    // then, so a HIT afterwards must still include this document (no stale list).
    const during = await api(main.url, 'POST', '/documents', {
      token: probe.token,
      body: { title: 'written while Redis was down', content: 'x' },
    });
    const problems = [];
    if (during.status !== 201)
      problems.push(`POST /documents during the outage → ${during.status} ${during.text.slice(0, 200)}`);
    await sleep(killedAt + 5000 - Date.now());
    redis = await startRedis(redis.port);
    const restartedAt = Date.now();
    console.log(`  redis-server restarted on ${redis.port} at +${restartedAt - t0} ms`);
    // Within 5 s: connected again, and a HIT that includes the document written during the outage.
    let connectedAt, hitAt, staleHit;
    while (Date.now() - restartedAt < 5000 && !(connectedAt && hitAt)) {
      const cache = await api(main.url, 'GET', '/health/cache');
      if (!connectedAt && cache.json?.connected === true) connectedAt = Date.now();
      const list = await api(main.url, 'GET', '/documents?limit=50', { token: probe.token });
      if (list.headers.get('x-cache') === 'HIT') {
        if (list.json.items.some((d) => d.id === during.json?.id)) hitAt ??= Date.now();
        else staleHit = list.text.slice(0, 200);
      }
      await sleep(100);
    }
    const records = await load.done;
    serviceLog([main], records);
    assertAlive(main);
    console.log(`  load: ${records.length} requests: ${counts(records)}`);
    console.log(
      `  after restart: /health/cache connected after ${connectedAt ? `${connectedAt - restartedAt} ms` : 'NEVER (5 s)'}, X-Cache: HIT after ${hitAt ? `${hitAt - restartedAt} ms` : 'NEVER (5 s)'}`,
    );
    const hitsInLoad = records.filter((r) => r.xCache === 'HIT' && r.start > restartedAt).length;
    console.log(
      `  HITs in the load after the restart: ${hitsInLoad}; during the outage: ${records.filter((r) => r.xCache === 'HIT' && r.start > killedAt && r.end < restartedAt).length}`,
    );
    for (const r of records) if (!ok(r)) problems.push(describe(r, t0));
    if (!connectedAt) problems.push('/health/cache did not show connected:true within 5 s of the restart');
    if (!hitAt)
      problems.push(
        'GET /documents did not answer X-Cache: HIT (with the document written during the outage) within 5 s of the restart',
      );
    if (staleHit) problems.push(`a HIT without the document written during the outage (stale cache): ${staleHit}`);
    problems.push(...(await verifyUploads({ pg, url: main.url, users, records })));
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------ 2. PostgreSQL restarts
  await check('2. PostgreSQL stopped (-m fast) for 3 s under load, then started again', async () => {
    // Its own instance: a crash here must not take the other scenarios with it.
    const main = await startService('pg-restart', backing);
    const users = await makeUsers(main.url, 'pg', 4);
    const load = runLoad({ targets: [main.url], users, rate: 40, durationMs: 15_000 });
    const t0 = Date.now();
    await sleep(4000);
    const stopAt = Date.now();
    await pg.stop('fast');
    console.log(`  pg_ctl stop -m fast at +${stopAt - t0} ms (took ${Date.now() - stopAt} ms)`);
    await sleep(3000);
    await pg.start();
    const startedAt = Date.now();
    console.log(`  pg_ctl start done at +${startedAt - t0} ms`);
    // Recovery without a restart: a login (always a database round trip) answers 200 again.
    let recoveredAt;
    while (!recoveredAt && Date.now() - startedAt < 10_000) {
      const res = await api(main.url, 'POST', '/auth/login', {
        body: { email: users[0].email, password: users[0].password },
      }).catch(() => ({}));
      if (res.status === 200) recoveredAt = Date.now();
      else await sleep(100);
    }
    const records = await load.done;
    serviceLog([main], records);
    assertAlive(main);
    const deadline = startedAt + 5000;
    const problems = [];
    let outage503 = 0;
    let slowest = 0;
    for (const r of records) {
      const overlapsOutage = r.end >= stopAt && r.start <= startedAt;
      const overlapsRecovery = r.end >= stopAt && r.start <= deadline;
      if (overlapsOutage) slowest = Math.max(slowest, r.end - r.start);
      if (r.status === undefined) problems.push(`no response: ${describe(r, t0)}`);
      else if (overlapsOutage && r.end - r.start >= 2000)
        problems.push(`slower than 2 s during the outage: ${describe(r, t0)}`);
      else if (r.status === 503 && overlapsRecovery && isProblem(r)) outage503++;
      else if (!ok(r)) problems.push(describe(r, t0));
    }
    console.log(`  load: ${records.length} requests: ${counts(records)}`);
    console.log(`  during the outage: ${outage503} answered 503 problem+json, slowest answer ${slowest} ms`);
    console.log(
      `  recovered (login 200) ${recoveredAt ? `${recoveredAt - startedAt} ms` : 'NOT within 10 s'} after PostgreSQL was back`,
    );
    if (outage503 === 0) problems.push('no request saw the outage (expected 503s): did the fault happen?');
    if (!recoveredAt || recoveredAt > deadline) problems.push('the service did not recover within 5 s');
    problems.push(...(await verifyUploads({ pg, url: main.url, users, records })));
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------ 3. SIGTERM
  await check('3. SIGTERM under load: in-flight requests complete, exit 0 within 10 s', async () => {
    const svc = await startService('sigterm', backing);
    const problems = [];
    const users = await makeUsers(svc.url, 'term', 4);
    const load = runLoad({ targets: [svc.url], users, rate: 40, durationMs: 12_000 });
    const t0 = Date.now();
    await sleep(3000);
    // Make sure requests are in flight at the signal: logins spend tens of ms
    // in argon2. One of them is on a keep-alive connection, and as soon as its
    // answer arrives a second request goes on that same connection (as a proxy
    // reusing its upstream connection would): it may be closed or refused, or
    // answered (a 503 must be problem+json like every error).
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ours = [0, 1, 2].map((i) =>
      timed(svc.url, 'POST', '/auth/login', { email: users[i].email, password: users[i].password }),
    );
    const reuse = timed(
      svc.url,
      'POST',
      '/auth/login',
      { email: users[3].email, password: users[3].password },
      agent,
    ).then(async (first) => [
      first,
      {
        ...(await timed(svc.url, 'GET', '/users/me', undefined, agent, users[3].token)),
        kind: 'read',
        reusedConnection: true,
      },
    ]);
    await sleep(15);
    const sigAt = Date.now();
    svc.child.kill('SIGTERM');
    const exit = await Promise.race([svc.exited, sleep(10_000).then(() => null)]);
    load.stop();
    const [first, second] = await reuse;
    agent.destroy();
    const records = [...(await load.done), ...(await Promise.all(ours)), first];
    console.log(
      `  second request on the login's keep-alive connection (sent after SIGTERM): ${second.status ?? second.error}${second.reused ? ' (connection reused)' : ' (new connection)'}${second.status ? `, ${second.contentType}` : ''}`,
    );
    if (second.status && !ok(second) && !(second.status === 503 && isProblem(second)))
      problems.push(
        `sent after SIGTERM on a kept-alive connection: ${describe(second, t0)} (Content-Type: ${second.contentType})`,
      );
    const before = records.filter((r) => r.start < sigAt);
    const after = records.filter((r) => r.start >= sigAt);
    const inFlight = before.filter((r) => r.end > sigAt);
    for (const r of before) {
      // Sent before the signal: a full answer, unless the connection was never accepted.
      if (!(ok(r) || (r.status === 503 && isProblem(r)) || r.error === 'ECONNREFUSED'))
        problems.push(`sent before SIGTERM: ${describe(r, t0)}`);
    }
    const afterBy = {};
    for (const r of after) {
      const k = r.status ?? r.error;
      afterBy[k] = (afterBy[k] ?? 0) + 1;
      if (!(
        ok(r) ||
        (r.status === 503 && isProblem(r)) ||
        ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(r.error)
      ))
        problems.push(`sent after SIGTERM: ${describe(r, t0)}`);
    }
    console.log(
      `  SIGTERM at +${sigAt - t0} ms; ${before.length} requests sent before it (${inFlight.length} in flight at the signal: ${inFlight.map((r) => r.status ?? r.error).join(', ')})`,
    );
    console.log(
      `  sent after it: ${after.length} (${
        Object.entries(afterBy)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none'
      })`,
    );
    console.log(`  load: ${counts(records)}`);
    if (!exit) problems.push('still running 10 s after SIGTERM');
    else {
      console.log(`  exited with code ${exit.code} (signal ${exit.signal}) ${exit.at - sigAt} ms after SIGTERM`);
      if (exit.code !== 0)
        problems.push(`exit code ${exit.code}, signal ${exit.signal}; output: ${svc.output().slice(-500)}`);
    }
    if (inFlight.length === 0) problems.push('no request was in flight at the signal: the check proved nothing');
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------ 4. one of two instances dies
  await check('4. two instances, A SIGKILLed under load: B keeps serving, no data lost', async () => {
    const a = await startService('A', backing);
    const b = await startService('B', backing);
    const users = await makeUsers(a.url, 'ha', 4);
    const load = runLoad({ targets: [a.url, b.url], users, rate: 40, durationMs: 14_000 });
    const t0 = Date.now();
    await sleep(5000);
    const killAt = Date.now();
    a.kill('SIGKILL');
    // SIGKILL is not instant: until the process is gone its socket still accepts connections.
    const deadAt = (await a.exited).at;
    const records = await load.done;
    serviceLog([a, b], records);
    assertAlive(b);
    const problems = [];
    const inDoubt = new Set();
    let lostWithKill = 0;
    for (const r of records) {
      if (ok(r)) continue;
      // A POST in flight on A when it died: its outcome is unknowable to any
      // client (a load balancer does not resend a POST). Allowed, and its
      // document may or may not exist.
      const last = r.attempts.at(-1);
      if (r.error && last.target === a.url && r.method === 'POST' && last.start <= deadAt && last.end >= killAt) {
        lostWithKill++;
        if (r.kind === 'upload') inDoubt.add(r.sha256);
        console.log(`  in flight on A at the kill (allowed): ${describe(r, t0)}`);
      } else problems.push(describe(r, t0));
    }
    const afterKill = records.filter((r) => r.start > killAt);
    const retried = records.filter((r) => r.attempts.length > 1).length;
    console.log(`  A SIGKILLed at +${killAt - t0} ms, gone at +${deadAt - t0} ms`);
    console.log(`  load: ${records.length} requests: ${counts(records)}`);
    console.log(
      `  served by A ${records.filter((r) => r.target === a.url).length}, by B ${records.filter((r) => r.target === b.url).length}; after the kill ${afterKill.length} requests, ${afterKill.filter(ok).length} succeeded; ${retried} retried on B after A refused; ${lostWithKill} POSTs in flight on A when it died`,
    );
    if (afterKill.filter(ok).length === 0) problems.push('nothing succeeded after the kill');
    problems.push(...(await verifyUploads({ pg, url: b.url, users, records, inDoubt })));
    b.kill('SIGTERM');
    await b.exited;
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------ 5. bad input
  await check('5. bad input sweep over every operation in /docs/openapi.json', async () => {
    // With mail on (to a closed port: mails wait in the outbox) and the account limits out of the way,
    // so the mail routes answer what their input deserves rather than 503 or 429.
    const svc = await startService('sweep', {
      ...backing,
      env: { SMTP_URL: 'smtp://127.0.0.1:9', ACCOUNT_RATE_LIMIT_MAX: '1000000' },
    });
    const problems = await sweep({ svc, pg });
    if (process.env.FAULTS_DUMP) writeFileSync(`${process.env.FAULTS_DUMP}/sweep-problems.txt`, problems.join('\n'));
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------ 6. unread downloads
  await check('6. unread downloads: 80 connections ask for 10 MiB documents and never read', async () => {
    const stallTimeoutMs = 20_000;
    const svc = await startService('unread', {
      ...backing,
      env: { DOWNLOAD_STALL_TIMEOUT_MS: String(stallTimeoutMs) },
    });
    const problems = await unreadDownloads({ svc, stallTimeoutMs });
    svc.kill('SIGTERM');
    await svc.exited;
    assertNoProblems(problems);
  });

  // ------------------------------------------------------------ 7. SMTP outage
  await check(
    '7. SMTP server down for 5 s while two instances queue mails: each arrives once when it is back',
    async () => {
      const smtpPort = await freePort();
      const received = [];
      const startSmtp = () =>
        new Promise((resolve, reject) => {
          const server = new SMTPServer({
            authOptional: true,
            logger: false,
            onData(stream, session, callback) {
              stream.on('data', () => {});
              stream.on('end', () => {
                received.push(session.envelope.rcptTo[0].address);
                callback();
              });
            },
          });
          server.once('error', reject);
          server.listen(smtpPort, '127.0.0.1', () => resolve(server));
        });
      const env = {
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}?tls.rejectUnauthorized=false`,
        MAIL_RETRY_BASE_MS: '200',
        MAIL_POLL_INTERVAL_MS: '200',
        ACCOUNT_RATE_LIMIT_MAX: '1000000',
      };
      // A database of its own: the outbox of earlier scenarios (the sweep sends mail to a
      // server long gone) must not compete with the mails this one counts.
      pg.query('CREATE DATABASE mail_outage');
      const own = { ...backing, databaseUrl: pg.url.replace(/\/postgres$/, '/mail_outage') };
      const a = await startService('mail-A', { ...own, env });
      const b = await startService('mail-B', { ...own, env });
      const problems = [];
      // SMTP is down: registering (a verification mail each) and forgot (a reset mail each) must not wait on it.
      const users = await makeUsers(a.url, 'mail', 10);
      for (const [i, user] of users.entries()) {
        const started = Date.now();
        const res = await api(i % 2 ? a.url : b.url, 'POST', '/auth/password/forgot', { body: { email: user.email } });
        if (res.status !== 202) problems.push(`forgot during the outage → ${res.status} ${res.text}`);
        if (Date.now() - started > 2000) problems.push(`forgot took ${Date.now() - started} ms during the outage`);
      }
      const mine = `recipient like 'mail-%'`;
      const due = () =>
        Number(pg.query(`select count(*) from mail_outbox where ${mine} and status = 'pending'`, 'mail_outage')[0][0]);
      const retried = Number(
        pg.query(`select count(*) from mail_outbox where ${mine} and attempts > 1`, 'mail_outage')[0][0],
      );
      await sleep(5000);
      const server = await startSmtp();
      onCleanup(() => server.close());
      const t0 = Date.now();
      while (due() > 0 && Date.now() - t0 < 60_000) await sleep(100);
      const rows = pg.query(`select recipient, status, attempts from mail_outbox where ${mine}`, 'mail_outage');
      const sent = rows.filter(([, status]) => status === 'sent');
      console.log(
        `  ${rows.length} mails queued during the outage (${retried} already retried); all out ${Date.now() - t0} ms after SMTP came back; ${received.length} received, ${sent.length} rows sent, max ${Math.max(...rows.map(([, , n]) => Number(n)))} attempts`,
      );
      if (rows.length !== 20) problems.push(`${rows.length} mails queued, expected 20`);
      if (sent.length !== rows.length) problems.push(`${rows.length - sent.length} mails not sent`);
      const perRecipient = new Map();
      for (const to of received) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
      for (const user of users) {
        if (perRecipient.get(user.email) !== 2)
          problems.push(`${user.email} received ${perRecipient.get(user.email) ?? 0} mails, expected 2`);
      }
      for (const svc of [a, b]) {
        assertAlive(svc);
        svc.kill('SIGTERM');
        await svc.exited;
      }
      assertNoProblems(problems);
    },
  );

  // ------------------------------------------------------------ 8. object storage outage
  await check(
    '8. S3 server stopped: uploads and downloads 503 problem+json, nothing half-written, back when it is',
    async () => {
      assertNoProblems(await storageOutage({ backing, pg }));
    },
  );

  // ------------------------------------------------------------ 9. Redis down under event streams
  await check(
    '9. Redis killed under open event streams on two instances: per-instance events, nothing crashes',
    async () => {
      const problems = [];
      await eventsWithoutRedis({ databaseUrl: pg.url, problems });
      assertNoProblems(problems);
    },
  );
} finally {
  cleanup();
}

const failed = results.filter((r) => !r).length;
console.log(`\n(${((Date.now() - suiteStarted) / 1000).toFixed(0)} s)`);
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
