/**
 * Where dist/main.js (src/launcher.ts) leaves the function that writes V8's code cache of
 * the server's bundle, when it had none it could use. The server calls it once it listens:
 * by then the cache holds everything a start compiles.
 */
export const SAVE_CODE_CACHE = Symbol.for('ultrai-core.saveCodeCache');

/** Writes the code cache when dist/main.js asked for one; nothing otherwise (tests, the CLI). */
export function saveCodeCache(): void {
  (globalThis as Record<symbol, (() => void) | undefined>)[SAVE_CODE_CACHE]?.();
}
