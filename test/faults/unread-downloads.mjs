// The unread-download attack: many connections ask for a 10 MiB document and
// never read the answer. Without bounds every one of them held the file (and,
// while it was read from PostgreSQL, twice its size in hex text) until the
// client read it: 40 of them took the server past 540 MiB of RSS.
import { connect } from 'node:net';
import { api, makeUsers, rssMiB, sleep } from './lib.mjs';

const FILE_BYTES = 10 * 1024 * 1024;
const USERS = 8;
const CONNECTIONS_PER_USER = 10;
/** The service runs with the image's memory settings; 512 MB is Render's smallest paid instance. */
const RSS_BOUND_MIB = 400;

async function uploadBig(url, token, i) {
  const head = Buffer.from(`%PDF-1.4\n% unread download ${i}\n`);
  const file = Buffer.concat([head, Buffer.alloc(FILE_BYTES - head.length, 0x20)]);
  const form = new globalThis.FormData();
  form.append('file', new globalThis.Blob([file], { type: 'application/pdf' }), `big-${i}.pdf`);
  const res = await fetch(`${url}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return (await res.json()).id;
}

/** Sends the request, reads the status line from the first chunk, then never reads again. */
function openUnread(port, path, token) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`),
    );
    socket.on('error', () => undefined);
    socket.once('data', (chunk) => {
      socket.pause();
      resolve({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1]) });
    });
    socket.once('error', reject);
  });
}

/** Runs the attack on `svc` (started with a short DOWNLOAD_STALL_TIMEOUT_MS); returns the problems found. */
export async function unreadDownloads({ svc, stallTimeoutMs }) {
  const problems = [];
  const users = await makeUsers(svc.url, 'unread', USERS);
  const docs = [];
  for (const [i, user] of users.entries()) docs.push(await uploadBig(svc.url, user.token, i));
  const before = rssMiB(svc.pid);

  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(svc.pid))), 50);
  const started = Date.now();
  const opened = await Promise.all(
    users.flatMap((user, i) =>
      Array.from({ length: CONNECTIONS_PER_USER }, () =>
        openUnread(svc.port, `/documents/${docs[i]}/content`, user.token),
      ),
    ),
  );
  const byStatus = {};
  for (const { status } of opened) byStatus[status] = (byStatus[status] ?? 0) + 1;
  // While they hang: the server still answers, health and a small authenticated read.
  const health = await api(svc.url, 'GET', '/health/ready');
  const read = await api(svc.url, 'GET', '/users/me', { token: users[0].token });
  await sleep(500);
  peak = Math.max(peak, rssMiB(svc.pid));
  const during = rssMiB(svc.pid);

  // Past the stall timeout the server has cut them off: a new download gets its slot.
  await sleep(stallTimeoutMs + 500);
  // Each connection's stall clock starts at the last piece the server could hand to it, once
  // the socket's buffers were full, which on a loaded machine can be seconds after it opened
  // (CI once saw a 429 here, at 0.5 s past the timeout): the slots must free up within one
  // more stall period, tried every second.
  const retryStarted = Date.now();
  let after;
  let afterBytes;
  for (;;) {
    after = await fetch(`${svc.url}/documents/${docs[0]}/content`, {
      headers: { authorization: `Bearer ${users[0].token}` },
    });
    afterBytes = (await after.arrayBuffer()).byteLength;
    if (after.status === 200 || Date.now() - retryStarted > stallTimeoutMs) break;
    await sleep(1000);
  }
  const afterWaitedMs = Date.now() - retryStarted;
  clearInterval(sampler);
  for (const { socket } of opened) socket.destroy();

  console.log(
    `  ${opened.length} unread connections for ${USERS} users' 10 MiB documents in ${Date.now() - started} ms: ${Object.entries(
      byStatus,
    )
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
  );
  console.log(
    `  RSS under unread-download attack: ${during.toFixed(0)} MiB (peak ${peak.toFixed(0)} MiB, ${before.toFixed(0)} MiB before)`,
  );
  console.log(
    `  meanwhile: GET /health/ready → ${health.status}, GET /users/me → ${read.status}; after the stall timeout a download → ${after.status} (${afterBytes} bytes, ${(afterWaitedMs / 1000).toFixed(1)} s later)`,
  );
  if (peak >= RSS_BOUND_MIB) problems.push(`RSS reached ${peak.toFixed(0)} MiB (bound ${RSS_BOUND_MIB})`);
  if (!(byStatus[200] > 0)) problems.push('no download was served at all');
  if (!(byStatus[429] > 0) || !(byStatus[503] > 0)) problems.push('neither cap answered (expected 429s and 503s)');
  const other = Object.keys(byStatus).filter((s) => !['200', '429', '503'].includes(s));
  if (other.length > 0) problems.push(`unexpected answers: ${other.join(', ')}`);
  if (health.status !== 200) problems.push(`GET /health/ready during the attack → ${health.status}`);
  if (read.status !== 200) problems.push(`GET /users/me during the attack → ${read.status}`);
  if (after.status !== 200 || afterBytes !== FILE_BYTES)
    problems.push(`a download after the stall timeout → ${after.status}, ${afterBytes} bytes`);
  return problems;
}
