// A local SMTP server that prints what it receives (sender, recipient, subject, links),
// to follow the mail flows from Swagger UI with real SMTP:
//
//   node scripts/smtp-sink.mjs [port]        (default 2525)
//   SMTP_URL='smtp://127.0.0.1:2525?tls.rejectUnauthorized=false' npm start
//
// It offers STARTTLS with smtp-server's built-in test certificate (hence the URL option).
import { SMTPServer } from 'smtp-server';

const port = Number(process.argv[2] ?? 2525);
const server = new SMTPServer({
  authOptional: true,
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks)
        .toString('latin1')
        .replace(/=\r?\n/g, '')
        .replace(/=3D/g, '=');
      const subject = /^Subject: (.*)$/m.exec(raw)?.[1] ?? '';
      const links = [...new Set(raw.match(/https?:\/\/[^\s"<>]+token=[A-Za-z0-9_-]+/g) ?? [])];
      console.log(
        `${new Date().toISOString()}  ${session.envelope.mailFrom.address} -> ${session.envelope.rcptTo.map((r) => r.address).join(', ')}${session.secure ? ' (TLS)' : ''}\n  ${subject}${links.map((l) => `\n  ${l}`).join('')}`,
      );
      callback();
    });
  },
});
server.listen(port, '127.0.0.1', () => console.log(`SMTP sink on 127.0.0.1:${port}`));
