import type { Server } from 'node:http';

/**
 * Where dist/main.js (src/launcher.ts) leaves the function that writes V8's code cache of
 * the server's bundle, when it had none it could use. The server calls it once its first
 * response is done: by then the cache holds everything a start compiles, and what serving
 * a first request compiles too (Fastify's and Nest's request path, the route's handler),
 * which a start written to the cache at `listen` compiled again each time, ~20 ms of CPU on
 * Node 26 before its first answer (README, Performance: "Start-up, tenth pass").
 */
export const SAVE_CODE_CACHE = Symbol.for('ultrai-core.saveCodeCache');

/** Writes the code cache when dist/main.js asked for one; nothing otherwise (tests, the CLI), or after the first call. */
export function saveCodeCache(): void {
  (globalThis as Record<symbol, (() => void) | undefined>)[SAVE_CODE_CACHE]?.();
}

/**
 * Writes the code cache once the first request's response is over (sent, or its connection
 * gone). Idle compaction writes it first if no request has come by then (it changes V8's
 * flags, which a cache is checked against: src/lifecycle/idle-compaction.ts).
 */
export function saveCodeCacheAfterFirstResponse(server: Server): void {
  if ((globalThis as Record<symbol, unknown>)[SAVE_CODE_CACHE] === undefined) return;
  server.once('request', (_request, response) => response.once('close', saveCodeCache));
}
