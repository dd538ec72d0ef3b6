// Transfers: upload and download throughput (MiB/s) and the server's peak RSS for
// 10 MiB and 200 MiB files, on each storage driver (postgres on real PostgreSQL;
// s3 against s3rver, an S3-protocol server started here, which shares the CPU).
// Run by `npm run bench`; alone: node bench/transfers.mjs [--quick] [--root <checkout>]
// (--root measures another checkout's dist/main.js, e.g. main before this change;
// drivers it does not know are skipped).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadStreamed, uploadPdfStreamed } from '../test/support/streamed-transfer.mjs';
import { freePort, freshDatabase, imageEnv, json, rssMiB } from './lib.mjs';

const MiB = 1024 * 1024;
const SIZES = [10, 200];

async function startService(root, env) {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ...imageEnv(),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret!',
      RATE_LIMIT_MAX: '1000000',
      AUTH_RATE_LIMIT_MAX: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited during start: ${output.slice(-2000)}`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    pid: child.pid,
    alive: () => child.exitCode === null,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    },
  };
}

/** Runs `work` while sampling the process's RSS every 20 ms; returns its result and the peak. */
async function sampled(pid, work) {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      /* exited */
    }
  }, 20);
  try {
    return { result: await work(), peak };
  } finally {
    clearInterval(timer);
  }
}

async function startS3() {
  const { default: S3rver } = await import('s3rver');
  const directory = mkdtempSync(join(tmpdir(), 'ultrai-bench-s3-'));
  const port = await freePort();
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: 'bench', configs: [] }],
  });
  await server.run();
  return {
    env: {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'bench',
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Figures per driver and size: { uploadMiBs, downloadMiBs, idleRssMiB, uploadPeakRssMiB, downloadPeakRssMiB }
 * (medians over the repetitions), or { error } when the server could not do it.
 */
export async function benchTransfers({
  adminUrl,
  root,
  quick = false,
  drivers = ['postgres', 's3'],
  log = console.error,
}) {
  const figures = {};
  for (const driver of drivers) {
    const s3 = driver === 's3' ? await startS3() : undefined;
    try {
      for (const sizeMiB of SIZES) {
        const name = `${driver} ${sizeMiB} MiB`;
        const size = sizeMiB * MiB;
        const repeat = sizeMiB <= 10 ? (quick ? 3 : 5) : 1;
        const db = await freshDatabase(adminUrl, 'ultrai_bench_tx');
        const svc = await startService(root, {
          DATABASE_URL: db.url,
          ...s3?.env,
          UPLOAD_MAX_BYTES: String(size),
          USER_QUOTA_BYTES: String(size * (repeat + 1)),
        });
        try {
          const email = `bench-${Date.now()}@example.com`;
          const password = 'bench password long enough';
          await json(`${svc.url}/auth/register`, 'POST', { email, password, username: `bench_${Date.now()}` });
          const token = (await json(`${svc.url}/auth/login`, 'POST', { email, password })).access_token;
          const idle = rssMiB(svc.pid);
          const ups = [];
          const downs = [];
          let uploadPeak = idle;
          let downloadPeak = idle;
          for (let i = 0; i < repeat; i++) {
            const started = performance.now();
            const up = await sampled(svc.pid, () => uploadPdfStreamed(svc.url, token, size));
            if (up.result.status !== 201) throw new Error(`upload ${up.result.status} ${up.result.body.slice(0, 300)}`);
            ups.push(sizeMiB / ((performance.now() - started) / 1000));
            uploadPeak = Math.max(uploadPeak, up.peak);
            const id = JSON.parse(up.result.body).id;
            const t0 = performance.now();
            const down = await sampled(svc.pid, () => downloadStreamed(svc.url, token, id));
            if (down.result.status !== 200 || down.result.bytes !== size) {
              throw new Error(`download ${down.result.status}, ${down.result.bytes} bytes`);
            }
            downs.push(sizeMiB / ((performance.now() - t0) / 1000));
            downloadPeak = Math.max(downloadPeak, down.peak);
          }
          const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
          figures[name] = {
            uploadMiBs: median(ups),
            downloadMiBs: median(downs),
            idleRssMiB: idle,
            uploadPeakRssMiB: uploadPeak,
            downloadPeakRssMiB: downloadPeak,
          };
        } catch (error) {
          figures[name] = {
            error: svc.alive() ? error.message : `the server died: ${svc.output().slice(-300).trim() || error.message}`,
          };
        } finally {
          await svc.stop();
          await db.drop();
        }
        const f = figures[name];
        log(
          f.error
            ? `${name}: ${f.error}`
            : `${name}: upload ${f.uploadMiBs.toFixed(1)} MiB/s, download ${f.downloadMiBs.toFixed(1)} MiB/s, RSS idle ${f.idleRssMiB.toFixed(0)} MiB, peak ${f.uploadPeakRssMiB.toFixed(0)} (upload) / ${f.downloadPeakRssMiB.toFixed(0)} (download) MiB`,
        );
      }
    } finally {
      await s3?.close();
    }
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--root');
  const root = at > 0 ? process.argv[at + 1] : new URL('..', import.meta.url).pathname;
  const drivers = process.argv.includes('--postgres-only') ? ['postgres'] : ['postgres', 's3'];
  const figures = await benchTransfers({
    adminUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    root,
    quick: process.argv.includes('--quick'),
    drivers,
    log: console.log,
  });
  console.log(JSON.stringify(figures, null, 2));
}
