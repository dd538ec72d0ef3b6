// The yardstick: a plain node:http server answering GET /health with the
// same JSON as the service, and nothing else.
import { createServer } from 'node:http';

const body = JSON.stringify({
  status: 'ok',
  services: ['api', 'database', 'cache', 'auth', 'users', 'documents'],
  version: '0.1.0',
  uptime: 1,
});
createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  } else {
    res.writeHead(404).end();
  }
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
