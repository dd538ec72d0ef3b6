// node bench/mail.mjs [count]: the mail sender's throughput. The built service
// (dist/main.js, the image's environment) on a fresh PostgreSQL database,
// delivering `count` (default 2000) outbox rows to a local smtp-server;
// prints mails per second from the first to the last mail received. Then the
// cold start and settled idle RSS of the service with SMTP_URL set, and, with
// BASELINE=<another dist/main.js>, of that build too (the added cost).
// Env: DATABASE_URL (an admin URL; default postgres://postgres@127.0.0.1:5432/postgres).
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { freePort, freshDatabase, imageEnv, settledRssMiB, startServer } from './lib.mjs';

const count = Number(process.argv[2] ?? 2000);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (line) => process.stderr.write(`${line}\n`);

const smtpPort = await freePort();
let received = 0;
let firstAt = 0;
let lastAt = 0;
let done;
const all = new Promise((resolve) => (done = resolve));
const smtp = new SMTPServer({
  authOptional: true,
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received += 1;
      lastAt = performance.now();
      firstAt ||= lastAt;
      if (received === count) done();
      callback();
    });
  },
});
await new Promise((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));

const db = await freshDatabase(adminUrl, 'ultrai_bench_mail');
const env = { DATABASE_URL: db.url, SMTP_URL: `smtp://127.0.0.1:${smtpPort}?tls.rejectUnauthorized=false` };
try {
  const server = await startServer(env);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  // Due in a second, so the whole batch is in place before the sender's next round.
  await client.query(
    `INSERT INTO mail_outbox (kind, recipient, subject, text_body, html_body, next_attempt_at)
     SELECT 'verify-email', 'bench' || i || '@example.com', 'Confirm your email address for UltrAI',
            'Hello,\n\nhttps://app.example.com/verify-email?token=' || md5(i::text), '<p>Hello</p>', now() + interval '1 second'
       FROM generate_series(1, $1::int) AS i`,
    [count],
  );
  await client.end();
  await all;
  const seconds = (lastAt - firstAt) / 1000;
  log(
    `sender: ${count} mails in ${seconds.toFixed(2)} s = ${(count / seconds).toFixed(0)} mails/s (STARTTLS, 3 pooled connections)`,
  );
  await server.stop();

  for (const [label, script] of [
    ['this build, SMTP_URL set', 'dist/main.js'],
    ...(process.env.BASELINE ? [['baseline', process.env.BASELINE]] : []),
  ]) {
    const fresh = await freshDatabase(adminUrl, 'ultrai_bench_mail_idle');
    try {
      const idle = await startServer({ ...imageEnv(), ...env, DATABASE_URL: fresh.url }, { script });
      const rss = await settledRssMiB(idle.pid);
      log(`${label}: cold start ${idle.coldStartMs.toFixed(0)} ms, idle RSS ${rss.toFixed(1)} MiB`);
      await idle.stop();
    } finally {
      await fresh.drop();
    }
  }
} finally {
  await db.drop();
  smtp.close();
}
