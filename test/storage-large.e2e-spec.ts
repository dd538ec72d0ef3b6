import { readFileSync } from 'node:fs';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { imageEnv } from '../scripts/image-env.mjs';
import { type Spawned, startMain } from './support/process.js';
import { startS3, type TestS3 } from './support/s3.js';
import { downloadStreamed, uploadPdfStreamed } from './support/streamed-transfer.mjs';

/**
 * LARGE files through the spawned server (slow: its own file, out of the way of the
 * quick suite): a 1 GiB upload and download with the s3 driver and 200 MiB with the
 * postgres driver, with the server's RSS sampled all along: the peak stays within
 * 128 MiB of its idle RSS, whatever the file's size: an eighth of the 1 GiB file, and less
 * than the 200 MiB one, so a server holding either whole fails. Measured with the image's
 * settings: Node 20 rises ~45 MiB; Node 26 (the image's) ~50–75 MiB for the upload and
 * ~75–95 MiB for the download (its garbage collector leaves the streamed buffers' memory
 * longer before it gives it back).
 */
const MiB = 1024 * 1024;
const BOUND_MiB = 128;

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) / 1024;
}

/** Samples a process's RSS every 50 ms until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

async function signUp(base: string): Promise<string> {
  const email = `large${Date.now()}@example.com`;
  const password = 'a long enough password';
  const post = (path: string, body: object) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await post('/auth/register', { email, password, username: `large_${Date.now()}` })).status).toBe(201);
  return ((await (await post('/auth/login', { email, password })).json()) as { access_token: string }).access_token;
}

describe.each([
  ['s3', 1024 * MiB],
  ['postgres', 200 * MiB],
] as const)('a LARGE file with the %s driver', (driver, size) => {
  let db: TestDatabase;
  let s3: TestS3 | undefined;
  const running: Spawned[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    if (driver === 's3') s3 = await startS3();
  });
  afterAll(async () => {
    for (const p of running) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exit));
    await db?.drop();
    await s3?.close();
  });

  it(`uploads and downloads ${size / MiB} MiB with the server's RSS within ${BOUND_MiB} MiB of idle`, async () => {
    // As deployed: the image's allocator, thread pool and V8 heap settings (its NODE_OPTIONS), in test mode.
    const { NODE_ENV: _production, ...deployed } = imageEnv();
    const { server, base } = await startMain(
      {
        ...deployed,
        ...db.env,
        ...s3?.env,
        UPLOAD_MAX_BYTES: String(size),
        USER_QUOTA_BYTES: String(3 * size),
        LOG_LEVEL: 'warn',
      },
      running,
    );
    const pid = server.child.pid!;
    const token = await signUp(base);
    if (db.env.DATA_DIR) {
      // The embedded database runs in the server's process: its memory (shared_buffers and the
      // WebAssembly heap, which never shrinks) grows as the first file is written, its chunks with
      // the postgres driver, its rows and upload bookkeeping with s3, and then stays. That is the
      // database's, not transfer memory: idle is measured once it is warm.
      const priming = await uploadPdfStreamed(base, token, size);
      expect(priming.status).toBe(201);
    }
    // Idle: after a first request has loaded the routes' code.
    const idle = rssMiB(pid);
    const up = sampleRss(pid);
    const uploaded = await uploadPdfStreamed(base, token, size);
    const uploadPeak = up.stop();
    expect(uploaded.status).toBe(201);
    const doc = JSON.parse(uploaded.body) as { id: string; size: number; sha256: string };
    expect(doc).toMatchObject({ size, sha256: uploaded.sha256 });
    const down = sampleRss(pid);
    const downloaded = await downloadStreamed(base, token, doc.id);
    const downloadPeak = down.stop();
    expect(downloaded).toEqual({ status: 200, bytes: size, sha256: uploaded.sha256 });
    process.stdout.write(
      `${driver} ${size / MiB} MiB: idle ${idle.toFixed(0)} MiB, upload peak ${uploadPeak.toFixed(0)} MiB, download peak ${downloadPeak.toFixed(0)} MiB\n`,
    );
    expect(Math.max(uploadPeak, downloadPeak) - idle).toBeLessThanOrEqual(BOUND_MiB);
  }, 900_000);
});
