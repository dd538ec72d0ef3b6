// Bad-input sweep: every operation of /docs/openapi.json gets malformed and
// hostile requests, with a valid (administrator's) token and without one. No
// answer may be a 5xx or a hang, every error must be problem+json, and the
// process's memory must stay bounded.
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { connect } from 'node:net';
import { api, JWT_SECRET, makeUsers, root, rssMiB } from './lib.mjs';

/** Sends raw bytes (so invalid UTF-8 and odd headers go out as they are); never throws. */
function raw(url, method, path, headers, body) {
  return new Promise((resolve) => {
    const started = Date.now();
    // An explicit length: Node would send a GET or DELETE body unframed (neither length nor chunked).
    if (body !== undefined) headers = { ...headers, 'content-length': Buffer.byteLength(body) };
    // A large body is sent on a keep-alive connection, as a browser or any pooling client
    // sends it. A refusal that closes the connection anyway (a body over the route's limit)
    // closes it lingering: the server reads and drops the rest, so the answer is not lost
    // to a reset (before that, an 868 KB body once got EPIPE and no answer).
    const keepAlive = body !== undefined && Buffer.byteLength(body) > 64 * 1024 && headers.connection === undefined;
    if (keepAlive) headers = { ...headers, connection: 'keep-alive' };
    const req = request(url + path, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      // An event stream (GET /events) never ends: its status and headers are the answer.
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        resolve({
          status: res.statusCode,
          contentType: res.headers['content-type'],
          requestId: res.headers['x-request-id'],
          body: '',
          ms: Date.now() - started,
        });
        req.destroy();
        return;
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        resolve({
          status: res.statusCode,
          contentType: res.headers['content-type'] ?? '',
          requestId: res.headers['x-request-id'],
          body: Buffer.concat(chunks).toString().slice(0, 300),
          ms: Date.now() - started,
        });
        // Nothing else goes on a kept-alive connection: closed once the answer is in.
        if (keepAlive) req.destroy();
      });
      res.on('error', (error) => resolve({ error: error.code ?? String(error), ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in 10 s'), { code: 'TIMEOUT' })));
    // A 413 may arrive (and the socket close) before a 2 MB body is written: the answer counts, not the write error.
    req.on('error', (error) => {
      // The service may answer 413 and close as soon as it sees the length, so
      // writing the rest of an over-limit body can fail first: that is a refusal.
      const early = Buffer.byteLength(body ?? '') > 1024 * 1024 && ['EPIPE', 'ECONNRESET'].includes(error.code);
      resolve(
        early
          ? { closedEarly: true, ms: Date.now() - started }
          : { error: error.code ?? String(error), ms: Date.now() - started },
      );
    });
    req.end(body);
  });
}

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const MARK = 'RAW_BYTES_HERE';
/** JSON with the marker replaced by raw bytes (for invalid UTF-8 inside a string). */
const withRawBytes = (object, bytes) => {
  const [head, tail] = JSON.stringify(object).split(MARK);
  return Buffer.concat([Buffer.from(head), bytes, Buffer.from(tail)]);
};

// Hostile string values, each put in every string field in turn.
const STRINGS = {
  'lone surrogate (escaped)': '\ud800x',
  NUL: 'a\u0000b',
  'RTL override': 'abc\u202Egnp.exe',
  emoji: '😀👩‍👩‍👧‍👦',
  'zero-width and BOM': '\u200B\uFEFFx',
  SQL: "' OR 1=1 --",
  'path traversal': '../../etc/passwd',
  'control characters': '\u0001\u001b[31m\u007f',
  '100 KB': 'a'.repeat(100 * 1024),
};
const RAW_BYTES = {
  'lone surrogate (raw bytes ED A0 80)': Buffer.from([0xed, 0xa0, 0x80]),
  'overlong UTF-8 (C0 AF)': Buffer.from([0xc0, 0xaf]),
  'truncated UTF-8 (E2 82)': Buffer.from([0xe2, 0x82]),
};
const WRONG_TYPES = { number: 12345, boolean: true, null: null, array: ['x'], object: { a: 1 }, 'huge number': 1e308 };

function resolveSchema(spec, schema) {
  return schema?.$ref ? spec.components.schemas[schema.$ref.split('/').pop()] : schema;
}
function exampleOf(prop) {
  if (prop.example !== undefined) return prop.example;
  if (prop.enum) return prop.enum[0];
  return { string: 'sweep', integer: 1, number: 1, boolean: true, array: ['sweep'], object: {} }[prop.type] ?? 'sweep';
}

/** Every bad request for one operation: [{ label, path, headers, body }]. */
function casesFor(spec, pathTemplate, method, op, ids) {
  const cases = [];
  const json = { 'content-type': 'application/json' };
  const id = pathTemplate.includes('{id}') ? ids(pathTemplate, method) : undefined;
  const path = pathTemplate.replace('{id}', id);
  const add = (label, body, headers = json, p = path) => cases.push({ label, path: p, headers, body });

  // Malformed and mistyped bodies (for operations without a body too: they must ignore or refuse it).
  for (const text of [
    '{"a":',
    "{'a':1}",
    '[',
    'nul',
    '',
    '{"a":1}}',
    '\u0000',
    '{"__proto__":{"admin":true}}',
    '{"constructor":{"prototype":{"x":1}}}',
  ])
    add(`malformed JSON ${JSON.stringify(text).slice(0, 30)}`, text);
  for (const value of ['"a string"', '123', 'null', 'true', '[]', '[{}]']) add(`body is ${value}`, value);
  add('2 MB JSON', JSON.stringify({ x: 'a'.repeat(2 * 1024 * 1024) }));
  for (const c of edgeCases(path)) add(c.label, c.body, c.body === undefined ? {} : json, c.path);
  add('object nested 5000 deep', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000));
  add('array nested 5000 deep', '['.repeat(5000) + ']'.repeat(5000));
  add('{} (every field missing)', '{}');

  const jsonSchema = resolveSchema(spec, op.requestBody?.content?.['application/json']?.schema);
  const props = Object.entries(jsonSchema?.properties ?? {});
  const base = Object.fromEntries(props.map(([name, prop]) => [name, exampleOf(prop)]));
  for (const [name, prop] of props) {
    const { [name]: _, ...missing } = base;
    add(`${name} missing`, JSON.stringify(missing));
    for (const [kind, value] of Object.entries(WRONG_TYPES))
      add(`${name} is ${kind}`, JSON.stringify({ ...base, [name]: value }));
    add(
      `${name} nested 5000 deep`,
      JSON.stringify({ ...base, [name]: 0 }).replace(
        `"${name}":0`,
        `"${name}":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
      ),
    );
    if (prop.type === 'string' || prop.type === undefined || prop.type === 'array') {
      const wrap = (s) => (prop.type === 'array' ? [s] : s);
      for (const [kind, value] of Object.entries(STRINGS))
        add(`${name}: ${kind}`, JSON.stringify({ ...base, [name]: wrap(`sweep${value}`) }));
      for (const [kind, bytes] of Object.entries(RAW_BYTES))
        add(`${name}: ${kind}`, withRawBytes({ ...base, [name]: wrap(`sweep${MARK}`) }, bytes));
    }
  }

  // Wrong content types.
  add('text/plain', 'hello', { 'content-type': 'text/plain' });
  add('application/xml', '<a>1</a>', { 'content-type': 'application/xml' });
  add('form-urlencoded', 'a=1&b=%00', { 'content-type': 'application/x-www-form-urlencoded' });
  add('multipart without boundary', 'x', { 'content-type': 'multipart/form-data' });
  add('multipart, garbage body', 'garbage', { 'content-type': 'multipart/form-data; boundary=XYZ' });
  add('json with charset latin1', '{"a":"\u00e9"}', { 'content-type': 'application/json; charset=latin1' });
  add('content-type garbage', '{}', { 'content-type': '\u0001;;;='.replace(/[^\x20-\x7e]/g, '?') });
  if (op.requestBody?.content?.['multipart/form-data']) {
    const boundary = 'sweepBOUNDARY';
    const part = (headers, data) => `--${boundary}\r\n${headers}\r\n\r\n${data}\r\n`;
    const mp = { 'content-type': `multipart/form-data; boundary=${boundary}` };
    const file = (name, type, data) =>
      part(`Content-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}`, data);
    add(
      'multipart, file named ../../etc/passwd',
      file('../../etc/passwd', 'text/plain', 'hello') + `--${boundary}--\r\n`,
      mp,
    );
    add(
      'multipart, file name 5000 chars with RTL override',
      file('\u202e'.repeat(1) + 'a'.repeat(5000) + '.txt', 'text/plain', 'hello') + `--${boundary}--\r\n`,
      mp,
    );
    add('multipart, NUL in file name', file('a\u0000b.txt', 'text/plain', 'hello') + `--${boundary}--\r\n`, mp);
    add('multipart, truncated (no closing boundary)', file('a.txt', 'text/plain', 'hello'), mp);
    add(
      'multipart, EXE claimed text/plain',
      file('a.txt', 'text/plain', 'MZ\u0090\u0000\u0003') + `--${boundary}--\r\n`,
      mp,
    );
    add(
      'multipart, no file part',
      part('Content-Disposition: form-data; name="title"', 'x') + `--${boundary}--\r\n`,
      mp,
    );
    add(
      'multipart, two file parts',
      file('a.txt', 'text/plain', 'a') + file('b.txt', 'text/plain', 'b') + `--${boundary}--\r\n`,
      mp,
    );
  }

  // Malformed path parameters.
  if (id !== undefined) {
    for (const [label, bad] of [
      ['id not-a-uuid', 'not-a-uuid'],
      ['id 5000 chars', 'a'.repeat(5000)],
      ['id %00', '%00'],
      ['id SQL', encodeURIComponent("' OR 1=1 --")],
      ['id path traversal', '..%2F..%2Fetc%2Fpasswd'],
      ['id uppercase uuid with braces', `{${randomUUID().toUpperCase()}}`],
    ])
      add(label, undefined, {}, pathTemplate.replace('{id}', bad));
  }
  // Malformed query parameters (operations without them must ignore them).
  for (const q of [
    'limit=-1',
    'limit=abc',
    'limit=99999999999999999999',
    'limit=1.5',
    'cursor=garbage',
    `cursor=${b64url('{"not":"a cursor"}')}`,
    'cursor=%00',
    'sort=drop',
    'sort=%27%3Bdrop%20table%20documents%3B--',
    'q=%27%20OR%201%3D1%20--',
    'q=%00',
    `q=${'a'.repeat(10_000)}`,
    'tag=%00',
    'owner=not-a-uuid',
    'limit=1&limit=2',
    'q[]=a&q[b]=c',
  ])
    add(`?${q.slice(0, 40)}`, undefined, {}, `${path}?${q}`);
  // Odd headers.
  add('If-Match garbage', undefined, { 'if-match': 'garbage' });
  add('If-None-Match 8 KB', undefined, { 'if-none-match': `"${'x'.repeat(8000)}"` });
  add('X-Request-Id garbage', undefined, {
    'x-request-id': '../../\u0001'.replace(/[^\x20-\x7e]/g, '?') + 'x'.repeat(500),
  });
  add('Accept: application/xml', undefined, { accept: 'application/xml' });
  return cases;
}

/** Tokens that must all be refused (sent instead of a valid one). */
function garbageTokens(userId) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: userId, sid: randomUUID(), typ: 'access', iat: now, exp: now + 600 };
  const hs256 = (header, payload, secret) => {
    const input = `${b64url(header)}.${b64url(payload)}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  return {
    'Bearer garbage': 'Bearer garbage',
    'Bearer + 10 KB': `Bearer ${'A'.repeat(10 * 1024)}`,
    'alg none JWT': `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`,
    'JWT signed with another secret': `Bearer ${hs256({ alg: 'HS256', typ: 'JWT' }, claims, 'not-the-secret-not-the-secret-not-the-secret')}`,
    'JWT with our secret, unknown session': `Bearer ${hs256({ alg: 'HS256', typ: 'JWT' }, claims, JWT_SECRET)}`,
    'JWT with our secret, sub not a uuid': `Bearer ${hs256({ alg: 'HS256', typ: 'JWT' }, { ...claims, sub: "' OR 1=1 --", sid: 'x' }, JWT_SECRET)}`,
    'Basic credentials': 'Basic YWRtaW46YWRtaW4=',
    'Bearer only': 'Bearer',
  };
}

/** The request, as precisely as needed to replay it. */
function describeRequest(method, c) {
  const path = c.path.length > 100 ? `${c.path.slice(0, 60)}...(${c.path.length} chars)` : c.path;
  const headers = Object.entries(c.headers)
    .filter(
      ([name]) => name !== 'authorization' || !c.headers[name].startsWith('Bearer ey') || c.auth !== 'valid token',
    )
    .map(
      ([name, value]) => `${name}: ${value.length > 60 ? `${value.slice(0, 40)}...(${value.length} chars)` : value}`,
    );
  let body = '';
  if (c.body !== undefined) {
    const text = Buffer.isBuffer(c.body) ? c.body.toString('latin1') : c.body;
    body = ` body ${Buffer.byteLength(c.body)} bytes ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text)}`;
  }
  return `${method.toUpperCase()} ${path} [${c.label}]${headers.length ? ` {${headers.join('; ')}}` : ''}${body}`;
}

/** What the service logged for a 500: the error and where it was thrown. */
function causeOf(svc, requestId) {
  const line = svc
    .output()
    .split('\n')
    .find((l) => requestId && l.includes(requestId));
  if (!line) return 'no log line';
  try {
    const entry = JSON.parse(line);
    const frames = (entry.stack ?? '').split('\n').slice(1);
    const where = frames.find((f) => f.includes('/dist/src/')) ?? frames[0] ?? '';
    return `logged ${entry.error}: ${entry.msg} ${where.trim().replace(/\(.*\/(dist|node_modules)\//, '($1/')}`;
  } catch {
    return line.slice(0, 300);
  }
}

export async function sweep({ svc }) {
  const problems = [];
  const spec = (await api(svc.url, 'GET', '/docs/openapi.json')).json;
  const [admin, victim] = await makeUsers(svc.url, 'sweep', 2);
  // An administrator's token reaches the deepest code (admin routes, any owner).
  execFileSync(process.execPath, ['dist/cli.js', 'users:promote', admin.email], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      DATABASE_URL: svc.databaseUrl,
      JWT_SECRET,
      LOG_LEVEL: 'warn',
    },
    stdio: 'pipe',
  });
  const doc = await api(svc.url, 'POST', '/documents', {
    token: admin.token,
    body: { title: 'sweep target', content: 'hello' },
  });
  // Existing ids, so that bodies reach validation; a random one for DELETE, so the target stays.
  const ids = (path, method) => {
    if (method === 'delete') return randomUUID();
    if (path.startsWith('/documents')) return doc.json.id;
    if (path.startsWith('/users')) return victim.id;
    return randomUUID();
  };
  const login = async () =>
    (await api(svc.url, 'POST', '/auth/login', { body: { email: admin.email, password: admin.password } })).json
      .access_token;

  // Legacy health routes answer 503 in their own JSON shape by design (not sent anything that matters).
  const legacyShape = (method, path, status) =>
    method === 'GET' && status === 503 && ['/health/database', '/health/ready'].includes(path.split('?')[0]);
  const findings = new Map();
  const byStatus = {};
  const rss = [];
  let sent = 0;
  const started = Date.now();
  const stalls = watchEventLoop(svc);
  const drip = dripBody(svc);
  const operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method, op })),
  );
  for (const { path, method, op } of operations) {
    const cases = casesFor(spec, path, method, op, ids);
    // Logout ends the session it is called with: those get a fresh token per request.
    const revokes = path.startsWith('/auth/logout');
    let token = await login();
    const runs = [
      ...cases.map((c) => ({ ...c, auth: 'valid token' })),
      ...cases.map((c) => ({ ...c, auth: 'no token' })),
      ...Object.entries(garbageTokens(admin.id)).map(([label, value]) => ({
        label,
        path: path.replace('{id}', ids(path, method)),
        headers: { authorization: value },
        auth: label,
      })),
    ];
    for (const c of runs) {
      if (c.auth === 'valid token' && revokes) token = await login();
      const headers = { ...c.headers, ...(c.auth === 'valid token' ? { authorization: `Bearer ${token}` } : {}) };
      stalls.current = describeRequest(method, c);
      const res = await raw(svc.url, method.toUpperCase(), c.path, headers, c.body);
      sent++;
      const key = res.status ?? res.error ?? 'closed early (body over the limit)';
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      if (res.closedEarly) continue;
      const problem = res.error
        ? `no answer: ${res.error} after ${res.ms} ms`
        : res.status >= 500 && !legacyShape(method.toUpperCase(), c.path, res.status)
          ? `${res.status}${res.status === 500 ? '' : `: ${res.body}`}`
          : res.status >= 400 &&
              !res.contentType.startsWith('application/problem+json') &&
              !legacyShape(method.toUpperCase(), c.path, res.status)
            ? `${res.status} with Content-Type "${res.contentType}", not problem+json: ${res.body.slice(0, 120)}`
            : undefined;
      if (problem) {
        // One finding per operation, case and outcome; the token variants it happened with are listed.
        const key = `${method.toUpperCase()} ${path} [${c.label}] → ${problem.replace(/[0-9a-f-]{36}/g, '<id>')}`;
        const finding = findings.get(key) ?? {
          request: describeRequest(method, c),
          problem,
          auths: new Set(),
          requestId: res.requestId,
        };
        finding.auths.add(c.auth);
        findings.set(key, finding);
      }
    }
    rss.push(rssMiB(svc.pid));
  }
  for (const f of findings.values())
    problems.push(
      `${f.request} (${[...f.auths].join(', ')}) → ${f.problem}${f.problem === '500' ? ` (${causeOf(svc, f.requestId)})` : ''}`,
    );
  problems.push(...(await drip), ...(await stalls.stop()));
  const health = await api(svc.url, 'GET', '/health');
  const ready = await api(svc.url, 'GET', '/health/ready');
  const peak = Math.max(...rss);
  // Growth: the last quarter of the sweep against the first quarter (the first requests warm the process up).
  const quarter = Math.max(1, Math.floor(rss.length / 4));
  const early = Math.max(...rss.slice(0, quarter));
  const late = Math.max(...rss.slice(-quarter));
  console.log(`  ${operations.length} operations, ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(
    `  answers: ${Object.entries(byStatus)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  console.log(
    `  RSS: ${rss[0].toFixed(0)} MiB after the first operation, peak ${peak.toFixed(0)} MiB, first quarter max ${early.toFixed(0)}, last quarter max ${late.toFixed(0)}, end ${rss.at(-1).toFixed(0)} MiB`,
  );
  console.log(`  afterwards: GET /health → ${health.status}, GET /health/ready → ${ready.status}`);
  if (peak >= 400) problems.push(`RSS reached ${peak.toFixed(0)} MiB (bound 400)`);
  if (late - early > 100)
    problems.push(`RSS grew by ${(late - early).toFixed(0)} MiB from the first to the last quarter of the sweep`);
  if (health.status !== 200) problems.push(`GET /health afterwards → ${health.status}`);
  if (ready.status !== 200) problems.push(`GET /health/ready afterwards → ${ready.status} ${ready.text}`);
  return problems;
}

// ---------------------------------------------------------------- edge limits (issue 11)
const cursorOf = (values) => Buffer.from(JSON.stringify(values)).toString('base64url');

/**
 * The attacks of the edge limits: an object of 80,000 unknown keys (seconds of
 * validation once), and well-formed cursors carrying values PostgreSQL refuses
 * (500s once). Every operation gets them; those without a body or a cursor
 * must ignore or refuse them like any other bad input.
 */
function edgeCases(path) {
  const id = randomUUID();
  const keys = `{${Array.from({ length: 80_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
  return [
    { label: 'object of 80,000 unknown keys', body: keys, path },
    ...Object.entries({
      'cursor dated year 0000': ['-createdAt', '0000-01-01T00:00:00.000Z', id],
      'cursor dated February 30': ['-createdAt', '2024-02-30T00:00:00.000Z', id],
      'cursor (sessions) dated year 0000': ['0000-01-01T00:00:00.000Z', id],
      'cursor (sessions) dated February 30': ['2024-02-30T00:00:00.000Z', id],
    }).map(([label, values]) => ({ label, path: `${path}?cursor=${cursorOf(values)}` })),
    { label: 'cursor title with NUL', path: `${path}?sort=title&cursor=${cursorOf(['title', 'a\u0000b', id])}` },
    { label: 'cursor rank 1e39', path: `${path}?q=sweep&cursor=${cursorOf(['rank', 1e39, id])}` },
  ];
}

/**
 * A login body sent one byte and then nothing, from the start of the sweep: the
 * service must answer 408 and close the connection once BODY_IDLE_TIMEOUT_MS
 * (default 30 s) passed without a byte, while the sweep goes on.
 */
async function dripBody(svc, idleMs = 30_000) {
  const started = Date.now();
  const outcome = await new Promise((resolve) => {
    const socket = connect(svc.port, '127.0.0.1', () =>
      socket.write(
        'POST /auth/login HTTP/1.1\r\nHost: sweep\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n{',
      ),
    );
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ received, ms: Date.now() - started }));
    // Past the bound and a margin, the check has failed: stop waiting.
    setTimeout(() => socket.destroy(), idleMs + 10_000).unref();
  });
  const status = /^HTTP\/1\.1 (\d{3})/.exec(outcome.received)?.[1];
  console.log(`  slow body (1 byte, then nothing): answered ${status ?? 'nothing'} and closed after ${outcome.ms} ms`);
  const problems = [];
  if (status !== '408' || !/application\/problem\+json/i.test(outcome.received))
    problems.push(`slow body: expected 408 problem+json, got ${JSON.stringify(outcome.received.slice(0, 200))}`);
  if (outcome.ms > idleMs + 5_000) problems.push(`slow body: connection held ${outcome.ms} ms (bound ${idleMs} ms)`);
  return problems;
}

/**
 * The longest event-loop stall one request causes: GET /health (answered at the
 * HTTP server in microseconds) is sent back to back on its own connection while
 * the sweep sends one request at a time; a slow answer means the loop was
 * blocked, by the request the sweep had in flight then. The pings run in a
 * worker thread, so the sweep building its large bodies does not delay them.
 */
function watchEventLoop(svc, boundMs = 1000) {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Agent, request } = require('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const watch = { current: '(before the first request)', longest: 0, during: '', running: true };
    parentPort.on('message', (m) => (m.stop ? (watch.running = false) : (watch.current = m.current)));
    const ping = () => new Promise((resolve) => {
      const req = request(workerData.url + '/health', { agent }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', resolve);
      req.end();
    });
    (async () => {
      while (watch.running) {
        const during = watch.current;
        const started = performance.now();
        await ping();
        const ms = performance.now() - started;
        if (ms > watch.longest) Object.assign(watch, { longest: ms, during });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      agent.destroy();
      parentPort.postMessage({ longest: watch.longest, during: watch.during });
    })();
    `,
    { eval: true, workerData: { url: svc.url } },
  );
  return {
    set current(label) {
      worker.postMessage({ current: label });
    },
    async stop() {
      const [[{ longest, during }]] = await Promise.all([once(worker, 'message'), worker.postMessage({ stop: true })]);
      await worker.terminate();
      console.log(`  longest event-loop stall caused by a single request: ${longest.toFixed(0)} ms (during ${during})`);
      return longest > boundMs
        ? [`a single request stalled the event loop for ${longest.toFixed(0)} ms (bound ${boundMs} ms): ${during}`]
        : [];
    },
  };
}
