// The load, in its own process so that a fault in the service (or in the
// suite) cannot stall it: a fixed-rate mix of reads, logins and uploads,
// bounded in count and time. One JSON line per finished request on stdout,
// then {"type":"done"}. "stop" on stdin ends it early (in-flight requests are
// still awaited and reported).
//
//   node load.mjs '{"targets":["http://..."],"users":[{email,password,token}],"rate":40,"durationMs":12000}'
//
// Each request opens its own connection (no keep-alive), so a dead or closing
// instance shows as a refused connection, not as a reset of a stale pooled one.
// Several targets are used round-robin, like a load balancer: a connection
// refused by one is retried on the next (and that target is skipped for 1 s);
// a GET that fails at the connection level is retried too (idempotent, as
// nginx's proxy_next_upstream does); a POST is never retried.
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createInterface } from 'node:readline';

const {
  targets,
  users,
  rate = 40,
  durationMs = 12_000,
  maxRequests = 2000,
  timeoutMs = 15_000,
} = JSON.parse(process.argv[2]);
const out = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);

let stopping = false;
createInterface({ input: process.stdin }).on('line', (line) => line.trim() === 'stop' && (stopping = true));

// Documents each user got a 201 for: what GET /documents/:id reads.
const docs = users.map(() => []);
const downUntil = new Map();
let next = 0;
function pickTargets() {
  // Round-robin start, healthy targets first, then the ones marked down.
  const order = targets.map((_, i) => targets[(next + i) % targets.length]);
  next++;
  const now = Date.now();
  return [...order.filter((t) => !(downUntil.get(t) > now)), ...order.filter((t) => downUntil.get(t) > now)];
}

/** One HTTP exchange on a fresh connection: { status, headers, text }, or throws with a code (ECONNREFUSED, ECONNRESET, TIMEOUT). */
function http(url, { method, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}
const errorCode = (error) => error?.code ?? String(error);

async function send(n) {
  const u = n % users.length;
  const user = users[u];
  const roll = (n * 7919) % 100; // deterministic mix: 50% reads, 20% logins, 30% uploads
  let op;
  if (roll < 50) {
    const mine = docs[u];
    const reads = [
      '/documents?limit=10',
      '/users/me',
      mine.length ? `/documents/${mine[n % mine.length]}` : '/documents',
    ];
    op = { kind: 'read', method: 'GET', path: reads[n % 3], auth: true };
  } else if (roll < 70) {
    op = { kind: 'login', method: 'POST', path: '/auth/login', body: { email: user.email, password: user.password } };
  } else {
    const content = `upload ${n} ${randomBytes(8).toString('hex')}\nhéllo wörld ✓ 🚀 ${'x'.repeat(n % 500)}\n`;
    op = {
      kind: 'upload',
      method: 'POST',
      path: '/documents',
      auth: true,
      body: { title: `load ${n}`, content },
      sha256: createHash('sha256').update(content, 'utf8').digest('hex'),
    };
  }
  const record = {
    type: 'request',
    n,
    kind: op.kind,
    method: op.method,
    path: op.path,
    user: u,
    sha256: op.sha256,
    attempts: [],
  };
  record.start = Date.now();
  for (const target of pickTargets()) {
    const attempt = { target, start: Date.now() };
    record.attempts.push(attempt);
    try {
      const res = await http(target + op.path, {
        method: op.method,
        headers: {
          ...(op.body ? { 'content-type': 'application/json' } : {}),
          ...(op.auth ? { authorization: `Bearer ${user.token}` } : {}),
        },
        body: op.body ? JSON.stringify(op.body) : undefined,
      });
      const { text } = res;
      Object.assign(record, {
        target,
        status: res.status,
        contentType: res.headers['content-type'],
        xCache: res.headers['x-cache'],
        requestId: res.headers['x-request-id'],
      });
      if (op.kind === 'upload' && res.status === 201) {
        const body = JSON.parse(text);
        record.id = body.id;
        record.gotSha256 = body.sha256;
        docs[u].push(body.id);
      }
      if (res.status >= 400) record.body = text.slice(0, 300);
      break;
    } catch (error) {
      attempt.error = errorCode(error);
      attempt.end = Date.now();
      const refused = attempt.error === 'ECONNREFUSED';
      if (refused) downUntil.set(target, Date.now() + 1000);
      if (!(refused || op.method === 'GET')) break; // a POST may have reached the service: never resend it
    }
  }
  record.end = Date.now();
  if (record.status === undefined) record.error = record.attempts.at(-1).error;
  out(record);
}

const inflight = new Set();
let sent = 0;
const started = Date.now();
const interval = 1000 / rate;
for (let n = 0; n < maxRequests && !stopping && Date.now() - started < durationMs; n++) {
  // Fixed schedule (not closed-loop): a slow service does not slow the load down.
  const due = started + n * interval;
  if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  sent++;
  const p = send(n).catch((error) => out({ type: 'bug', n, error: String(error) }));
  inflight.add(p);
  p.finally(() => inflight.delete(p));
}
await Promise.all(inflight);
out({ type: 'done', sent, ms: Date.now() - started });
process.exit(0);
