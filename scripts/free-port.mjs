// One free TCP port on 127.0.0.1, for the tests (test/support/process.ts), the benchmarks
// (bench/lib.mjs), the fault suite (test/faults/lib.mjs) and scripts/start-twice.mjs.
// Plain JavaScript so that all of them can import it as it is.
import { createServer } from 'node:net';

/** A port the system just handed out (and that this process released at once). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
