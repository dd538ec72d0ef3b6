import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';

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
 * V8 flags for serving, set once start-up is over (Node refuses them in NODE_OPTIONS).
 *
 * --no-allocation-site-pretenuring: V8 watches how many of the objects made at each place
 * in the code outlive a young-generation collection, and past a threshold makes that place
 * allocate in the old generation from then on, for good. Under a load of 50 connections a
 * request's objects live about as long as two scavenges, so a moment of higher latency can
 * tip the request path's allocations into the old generation: the process then ran a full
 * mark-compact every ~300 ms (77 in 20 s against 3) and an uncached `GET /documents` cost
 * ~450 µs instead of ~300, for the rest of its life (README, Performance: "the old
 * generation for good"). Start-up keeps V8's pretenuring: its long-lived objects (modules,
 * metadata) go to the old generation directly, ~16 ms less CPU per start, measured.
 */
const SERVING_V8_FLAGS = '--no-allocation-site-pretenuring';
let serving = false;

/**
 * Start-up is over: the code cache is written (when dist/main.js asked for one; V8 checks
 * a cache against the flags it was made under, so it is made before they change), then
 * the serving flags are set. Once; called after the first response, or by idle compaction
 * when no request came first.
 */
export function startServing(): void {
  if (serving) return;
  serving = true;
  saveCodeCache();
  setFlagsFromString(SERVING_V8_FLAGS);
}

/** Calls startServing once the first request's response is over (sent, or its connection gone). */
export function startServingAfterFirstResponse(server: Server): void {
  server.once('request', (_request, response) => response.once('close', startServing));
}
