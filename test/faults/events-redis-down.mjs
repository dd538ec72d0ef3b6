// Scenario: Redis dies while two instances hold open event streams. Events fall back to
// each instance (a change made on A reaches A's streams, not B's), streams stay open,
// nothing crashes or answers 500; when Redis is back, events cross instances again.
import { request } from 'node:http';
import { api, makeUsers, sleep, startRedis, startService } from './lib.mjs';

/** A minimal EventSource: the events and comment lines of one stream. */
function openStream(url, token) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/events`, { headers: { authorization: `Bearer ${token}` } });
    req.on('error', reject);
    req.on('response', (res) => {
      const stream = { status: res.statusCode, events: [], comments: 0, ended: false, close: () => req.destroy() };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let at;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          if (block.startsWith(':')) stream.comments += 1;
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) stream.events.push({ event, data: JSON.parse(data) });
        }
      });
      res.on('close', () => (stream.ended = true));
      resolve(stream);
    });
    req.end();
  });
}

async function until(condition, ms, what) {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

export async function eventsWithoutRedis({ databaseUrl, problems }) {
  const redis = await startRedis();
  const env = { EVENTS_HEARTBEAT_MS: '200' };
  const a = await startService('events-A', { databaseUrl, redisUrl: redis.url, env });
  const b = await startService('events-B', { databaseUrl, redisUrl: redis.url, env });
  const [owner, friend] = await makeUsers(a.url, 'events', 2);
  const doc = await api(a.url, 'POST', '/documents', { token: owner.token, body: { title: 'live', content: 'x' } });
  const onA = await openStream(a.url, owner.token);
  const onB = await openStream(b.url, friend.token);
  if (onA.status !== 200 || onB.status !== 200) problems.push(`streams opened ${onA.status}, ${onB.status}`);

  // With Redis: a share made on A reaches the friend's stream on B.
  await api(a.url, 'POST', `/documents/${doc.json.id}/shares`, {
    token: owner.token,
    body: { email: friend.email, role: 'editor' },
  });
  await until(() => onB.events.some((e) => e.event === 'document.shared'), 5000, 'the share event on B');
  console.log('  with Redis: the share made on A reached the stream on B');

  redis.child.kill('SIGKILL');
  await sleep(300);
  const statuses = [];
  const version = async (svc, token, title) => {
    const res = await api(svc.url, 'PATCH', `/documents/${doc.json.id}`, { token, body: { title } });
    statuses.push(res.status);
    return res.json?.version;
  };
  // Without Redis: each instance's own streams still hear of changes made on it.
  const vA = await version(a, owner.token, 'changed on A');
  await until(
    () => onA.events.some((e) => e.event === 'document.updated' && e.data.version === vA),
    5000,
    'A’s own event',
  );
  const vB = await version(b, friend.token, 'changed on B');
  await until(
    () => onB.events.some((e) => e.event === 'document.updated' && e.data.version === vB),
    5000,
    'B’s own event',
  );
  const late = await openStream(a.url, owner.token);
  statuses.push(late.status);
  for (const path of ['/documents', `/documents/${doc.json.id}`, '/documents?scope=shared']) {
    statuses.push((await api(a.url, 'GET', path, { token: owner.token })).status);
    statuses.push((await api(b.url, 'GET', path, { token: friend.token })).status);
  }
  const heartbeats = onA.comments;
  await until(() => onA.comments > heartbeats + 1 && onB.comments > 2, 5000, 'heartbeats during the outage');
  if (statuses.some((s) => s !== 200)) problems.push(`during the outage: ${statuses.join(', ')}`);
  if (onA.ended || onB.ended) problems.push('a stream ended while Redis was down');
  console.log(
    `  Redis down: events stayed per instance (A saw v${vA}, B saw v${vB}); ${statuses.length} requests all 200; streams open`,
  );

  // Redis back on the same port: events cross instances again.
  const back = await startRedis(redis.port);
  const restarted = Date.now();
  let crossed = false;
  for (let i = 0; !crossed && Date.now() - restarted < 15_000; i++) {
    const v = await version(a, owner.token, `after ${i}`);
    await sleep(100);
    crossed = onB.events.some((e) => e.event === 'document.updated' && e.data.version === v);
  }
  if (!crossed) problems.push('events did not cross instances within 15 s of Redis returning');
  else console.log(`  Redis back: events cross instances again after ${Date.now() - restarted} ms`);
  for (const s of [onA, onB, late]) s.close();
  for (const svc of [a, b]) {
    if (svc.child.exitCode !== null) problems.push(`${svc.name} died: ${svc.output().slice(-1000)}`);
    svc.kill('SIGTERM');
    const { code } = await svc.exited;
    if (code !== 0) problems.push(`${svc.name} exited ${code}`);
  }
  back.child.kill('SIGKILL');
}
