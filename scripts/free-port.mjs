// One free TCP port on 127.0.0.1, for the tests (test/support/process.ts), the benchmarks
// (bench/lib.mjs), the fault suite (test/faults/lib.mjs) and scripts/start-twice.mjs.
// Plain JavaScript so that all of them can import it as it is.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A port free a moment ago, that this process released at once, for a server started next.
 *
 * It is picked below the system's range of ephemeral ports (Linux:
 * /proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default), at random: a port the
 * system hands out for `listen(0)` comes from that range, as does the local port of every
 * outgoing connection, so between the moment it was released and the moment the server
 * listened on it, a connection of another test (to PostgreSQL, Redis, another server) could
 * take it and the server failed with EADDRINUSE (seen in a full `npm test`). Where no port
 * below the range is free after a few tries, the system picks one, as before.
 */
export async function freePort() {
  const low = ephemeralLow();
  if (low > 11_000) {
    for (let i = 0; i < 20; i++) {
      const port = 10_000 + Math.floor(Math.random() * (low - 11_000));
      if (await free(port)) return port;
    }
  }
  return listenAndRelease(0);
}

/** The lowest ephemeral port; 32768 where the system does not say. */
function ephemeralLow() {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(low) ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function free(port) {
  return listenAndRelease(port).then(
    () => true,
    () => false,
  );
}

function listenAndRelease(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      server.close(() => resolve(bound));
    });
  });
}
