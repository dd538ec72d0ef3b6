import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { REAL_REDIS_URL } from './support/env.js';
import { ROOT, type Spawned, startMain } from './support/process.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean | undefined>;
  resource: Record<string, string | number | boolean | undefined>;
}

const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

const hexId = (id: unknown): string =>
  typeof id === 'string' && !/^[0-9a-f]*$/.test(id) ? Buffer.from(id, 'base64').toString('hex') : String(id ?? '');

function attributes(list: Array<{ key: string; value: OtlpValue }> = []): ReceivedSpan['attributes'] {
  return Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.boolValue),
    ]),
  );
}

/** A plain OTLP/HTTP receiver: what the exporter POSTs to /v1/traces (OTLP JSON), decoded. */
async function startReceiver(): Promise<{ server: Server; url: string; spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.method === 'POST') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        for (const rs of body.resourceSpans ?? []) {
          const resource = attributes(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const span of ss.spans ?? []) {
              spans.push({
                traceId: hexId(span.traceId),
                spanId: hexId(span.spanId),
                parentSpanId: hexId(span.parentSpanId),
                name: span.name,
                kind: span.kind,
                attributes: attributes(span.attributes),
                resource,
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

/** Waits (polling what was received) until `found` holds, or fails with what came. */
async function until<T>(what: string, found: () => T | undefined, received: ReceivedSpan[]): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what}: not received; got ${JSON.stringify(received.map((s) => s.name))}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe(`OpenTelemetry traces of the spawned server (${REAL_REDIS_URL ? 'real Redis' : 'no Redis'})`, () => {
  let db: TestDatabase;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let base: string;
  let server: Spawned;
  let token: string;
  const running: Spawned[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await startReceiver();
    ({ server, base } = await startMain(
      {
        ...db.env,
        ...(REAL_REDIS_URL ? { REDIS_URL: REAL_REDIS_URL, REDIS_KEY_PREFIX: `test:${db.id}:` } : {}),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'ultrai-trace-test',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
      running,
    ));
    const account = { email: 'traced@example.com', username: 'traced', password: 'a long enough password' };
    const register = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(account),
    });
    expect(register.status).toBe(201);
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: account.email, password: account.password }),
    });
    expect(login.status).toBe(200);
    token = ((await login.json()) as { access_token: string }).access_token;
  }, 120_000);

  afterAll(async () => {
    for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await new Promise((resolve) => receiver?.server.close(resolve));
    await db?.drop();
  });

  const traceparent = () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
  };

  it('exports a request as a server span continuing the traceparent, with the handler, queries and Redis commands under it', async () => {
    const caller = traceparent();
    const res = await fetch(`${base}/documents?limit=20`, {
      headers: { authorization: `Bearer ${token}`, traceparent: caller.header, 'x-request-id': 'traced-list-1' },
    });
    expect(res.status).toBe(200);
    const inTrace = () => receiver.spans.filter((s) => s.traceId === caller.traceId);

    const serverSpan = await until('the server span', () => inTrace().find((s) => s.kind === SERVER), receiver.spans);
    expect(serverSpan).toMatchObject({
      name: 'GET /documents',
      parentSpanId: caller.parentId,
      attributes: { 'http.route': '/documents', 'http.request.method': 'GET', 'http.response.status_code': 200 },
      resource: { 'service.name': 'ultrai-trace-test' },
    });
    const handler = await until(
      'the handler span',
      () => inTrace().find((s) => s.name === 'DocumentsController.list'),
      receiver.spans,
    );
    expect(handler).toMatchObject({ kind: INTERNAL, parentSpanId: serverSpan.spanId });
    const query = await until(
      'the keyset query',
      () => inTrace().find((s) => s.parentSpanId === handler.spanId && s.attributes['db.system.name'] === 'postgresql'),
      receiver.spans,
    );
    expect(query).toMatchObject({ kind: CLIENT, name: 'SELECT' });
    expect(query.attributes['db.query.text']).toMatch(/FROM "?documents"? WHERE owner_id = \$1/i);

    // Every span of the trace descends from the server span.
    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    for (const span of inTrace()) {
      let at = span;
      while (at.parentSpanId !== caller.parentId && byId.has(at.parentSpanId)) at = byId.get(at.parentSpanId)!;
      expect({ span: span.name, root: at.spanId }).toEqual({ span: span.name, root: serverSpan.spanId });
    }
    if (REAL_REDIS_URL) {
      const redis = await until(
        'a Redis command',
        () => inTrace().find((s) => s.attributes['db.system.name'] === 'redis'),
        receiver.spans,
      );
      expect(redis.kind).toBe(CLIENT);
    }

    // The request's log line carries the trace id.
    const line = server
      .output()
      .split('\n')
      .find((l) => l.includes('traced-list-1') && l.includes('GET /documents 200'));
    expect(line).toContain(caller.traceId);
  });

  it('puts the trace id in problem+json bodies', async () => {
    const caller = traceparent();
    const res = await fetch(`${base}/documents/not-a-uuid`, {
      headers: { authorization: `Bearer ${token}`, traceparent: caller.header },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: 400, traceId: caller.traceId });
    const serverSpan = await until(
      'the refused request',
      () => receiver.spans.find((s) => s.traceId === caller.traceId && s.kind === SERVER),
      receiver.spans,
    );
    expect(serverSpan).toMatchObject({
      name: 'GET /documents/:id',
      attributes: { 'http.response.status_code': 400 },
    });
  });

  it('starts a new trace for a request without traceparent', async () => {
    const res = await fetch(`${base}/documents/00000000-0000-4000-8000-000000000000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(404);
    const { traceId } = (await res.json()) as { traceId: string };
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const serverSpan = await until(
      'the new trace',
      () => receiver.spans.find((s) => s.traceId === traceId && s.kind === SERVER),
      receiver.spans,
    );
    expect(serverSpan.parentSpanId).toBe('');
  });

  it('keeps OpenTelemetry out of the server bundle: dist/server.cjs imports dist/tracing.js only when configured', () => {
    const main = readFileSync(`${ROOT}/dist/server.cjs`, 'utf8');
    const tracing = readFileSync(`${ROOT}/dist/tracing.js`, 'utf8');
    for (const name of ['BatchSpanProcessor', 'OTLPTraceExporter', 'W3CTraceContextPropagator']) {
      expect({ name, inMain: main.includes(name), inTracing: tracing.includes(name) }).toEqual({
        name,
        inMain: false,
        inTracing: true,
      });
    }
  });
});
