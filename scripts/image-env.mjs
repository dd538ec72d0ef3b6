// The environment the image's final stage sets (Dockerfile ENV), minus PORT, so the
// benchmarks and the tests that measure memory run the server as it is deployed: same
// allocator, thread pool and V8 settings.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function imageEnv() {
  const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8').replace(/\\\n/g, ' ');
  const finalStage = dockerfile.split(/^FROM /m).at(-1);
  const env = {};
  for (const [, pairs] of finalStage.matchAll(/^ENV (.+)$/gm)) {
    for (const [, key, quoted, plain] of pairs.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) env[key] = quoted ?? plain;
  }
  delete env.PORT;
  // The image keeps V8's compile cache under /app; here, one beside the other temporary files
  // (written by the first start, reused by the next ones, as in the image after its warm-up).
  if (env.NODE_COMPILE_CACHE) env.NODE_COMPILE_CACHE = join(tmpdir(), 'ultrai-bench-compile-cache');
  return env;
}
