import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startServing } from './code-cache.js';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** How often the process looks at whether it has been idle. */
const CHECK_EVERY_MS = 2500;
/** Event-loop utilization under which a check's period counts as idle (1%: a request or two at most). */
const IDLE_UTILIZATION = 0.01;
/** Quiet periods in a row before memory is given back (5 s). */
const QUIET_CHECKS = 2;
/** At most one collection in this long, however the load comes and goes. */
const MIN_GAP_MS = 30_000;

/**
 * Gives memory back once the process is idle: after start-up, and again after a busy
 * period once 5 s have passed without work, one memory-reducing garbage collection (V8's
 * "last resort" flavour: the young generation shrinks back from what start-up or a load
 * grew it to, the old one is compacted), at most one every 30 s. V8's own memory reducer
 * does not do it for an idle server on Node 26 (it goes by the start-up's allocation rate,
 * which nothing updates while idle), so an instance kept ~40 MiB more RSS than it needed
 * for as long as it stayed up. One collection costs some tens of milliseconds of CPU, spent
 * only when nothing else runs. The timer is unref'd: it never keeps the process alive.
 */
export function compactWhenIdle(): void {
  // V8's gc() is fetched at the first collection, not at start-up: it takes a new context
  // (~3 ms of CPU), which a start that is not idle yet need not pay.
  let gc: Gc | undefined;
  let last = performance.eventLoopUtilization();
  // Start-up itself is the first busy period.
  let grown = true;
  let quiet = 0;
  let lastCompaction = -Infinity;
  setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization >= IDLE_UTILIZATION;
    last = now;
    if (busy) {
      grown = true;
      quiet = 0;
      return;
    }
    quiet += 1;
    if (!grown || quiet < QUIET_CHECKS || performance.now() - lastCompaction < MIN_GAP_MS) return;
    gc ??= exposedGc();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    grown = false;
    lastCompaction = performance.now();
    // The collection itself is not activity.
    last = performance.eventLoopUtilization();
  }, CHECK_EVERY_MS).unref();
}

/**
 * V8's gc(), through a new context made once --expose-gc is set (V8 reads it when it makes
 * one). Start-up is declared over first, if no response has done it yet (startServing: the
 * code cache is written before any flag changes, as V8 refuses a cache made under other
 * flags, then the serving flags are set; src/lifecycle/code-cache.ts).
 */
function exposedGc(): Gc {
  startServing();
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Gc;
}
