/**
 * dist/main.js: runs the server's bundle, dist/server.cjs (src/main.ts and all it imports,
 * scripts/bundle.mjs), with a V8 code cache of everything it compiled up to its first answer.
 *
 * Node's own compile cache (NODE_COMPILE_CACHE) keeps the code V8 compiles when it first
 * reads a file: the top level only. The thousands of functions a start then runs (each
 * module's body, Nest's injector, route registration) were compiled again at every start,
 * ~150-200 ms of CPU on Node 26 (measured; README, Performance). Here the bundle is compiled
 * with node:vm, whose cache, made once the server has answered, holds all of them.
 *
 * The cache is a file in NODE_COMPILE_CACHE's directory (the image keeps it, filled by the
 * build's warm-up start: scripts/warm-compile-cache.mjs), named after this build of the
 * bundle, Node's version and architecture and the flags Node was given. V8 checks it against its own version, flags and
 * the source's length, and refuses it otherwise: the server then compiles as without one,
 * and writes a new one once it has answered. Without NODE_COMPILE_CACHE (or where the directory can't
 * be written) nothing is read or written.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { constants, Script } from 'node:vm';
import { SAVE_CODE_CACHE } from './lifecycle/code-cache.js';

/** The bundle's content hash, written in here by scripts/bundle.mjs. */
declare const SERVER_BUNDLE_ID: string;

const file = join(import.meta.dirname, 'server.cjs');
// Node 20 loses the loader below for code deserialized from a cache: import() in it then
// fails (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING; the embedded database is loaded that way).
// Checked with a script importing from cached code: fails on 20.20.2, works on 22.23.5,
// 24.22.3 and 26.12.1. Node 20 is past its end of life and outside `engines`, but the tests
// run on it too: there it compiles without a cache, as before.
const cacheDir = Number(process.versions.node.split('.')[0]) >= 22 ? process.env.NODE_COMPILE_CACHE : undefined;
const cacheFile = cacheDir
  ? join(cacheDir, `ultrai-server-${SERVER_BUNDLE_ID}-${process.version}-${process.arch}-${flagsId()}.v8cache`)
  : undefined;

// The file is the bundle in the wrapper Node gives a CommonJS module (scripts/bundle.mjs),
// called below with the same arguments. import() in the bundle (dist/tracing.js, the embedded database, the optional packages Nest looks for at start)
// goes to Node's own loader, resolved from dist/ as before. A function of our own would
// need --experimental-vm-modules; the constant makes Node warn, at the first import(), that
// it is experimental: that one warning is left out (any other is printed as usual).
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
  if (String(warning).includes('vm.USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
  (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;
const { script, cacheUsed } = compileServer();

if (cacheFile && !cacheUsed) {
  // Called by the server once its first response is done, and before anything changes V8's
  // flags (which the cache is checked against): src/lifecycle/code-cache.ts.
  (globalThis as Record<symbol, unknown>)[SAVE_CODE_CACHE] = () => {
    delete (globalThis as Record<symbol, unknown>)[SAVE_CODE_CACHE];
    try {
      mkdirSync(dirname(cacheFile), { recursive: true });
      // Written whole, then renamed: a start at the same time never reads half of it.
      const partial = `${cacheFile}.${process.pid}`;
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      // A read-only directory: the next start compiles again, as without a cache.
    }
  };
}

const module = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  module.exports,
  createRequire(file),
  module,
  file,
  dirname(file),
);

/**
 * Node's and V8's flags as given (command line, NODE_OPTIONS), hashed (FNV-1a): a start with
 * other flags, whose cache V8 would refuse, keeps one of its own instead of replacing this one.
 */
function flagsId(): string {
  let hash = 0x811c9dc5;
  for (const char of `${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * The bundle compiled, with the cache when there is one V8 takes. The source and the cache
 * are read here, so that neither copy outlives the compilation: V8 keeps the source string
 * it was given, and the code it deserialized.
 *
 * Both files are read into one buffer, the source first, then the cache over it, and the
 * file holds the function wrapper already (scripts/bundle.mjs): each MB of memory a start
 * touches for the first time costs it page faults, ~3 ms of CPU a MB on this project's test
 * machine, and a separate buffer for each file and a wrapped copy of the source were three
 * of those MBs out of every four read (README, Performance: "Start-up, tenth pass").
 */
function compileServer(): { script: Script; cacheUsed: boolean } {
  const source = openSync(file, 'r');
  let cache: number | undefined;
  try {
    if (cacheFile) cache = openSync(cacheFile, 'r');
  } catch {
    // None yet: made once this start has answered.
  }
  try {
    const sourceBytes = fstatSync(source).size;
    const cacheBytes = cache === undefined ? 0 : fstatSync(cache).size;
    const buffer = Buffer.allocUnsafeSlow(Math.max(sourceBytes, cacheBytes));
    // ASCII (scripts/bundle.mjs), so read as Latin-1: one byte a character, no UTF-8 decoding.
    const wrapped = buffer.toString('latin1', 0, readWhole(source, buffer, sourceBytes));
    const cachedData = cache === undefined ? undefined : buffer.subarray(0, readWhole(cache, buffer, cacheBytes));
    const script = new Script(wrapped, {
      filename: file,
      cachedData,
      importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    return { script, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
  } finally {
    closeSync(source);
    if (cache !== undefined) closeSync(cache);
  }
}

/** Reads a file of `bytes` bytes into the start of `buffer`; the count read. */
function readWhole(fd: number, buffer: Buffer, bytes: number): number {
  let read = 0;
  while (read < bytes) {
    const n = readSync(fd, buffer, read, bytes - read, read);
    if (n === 0) break;
    read += n;
  }
  return read;
}
