import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** How often the process looks at whether it has been idle. */
const CHECK_EVERY_MS = 10_000;
/** Event-loop utilization under which a period counts as idle (1%: a few requests at most). */
const IDLE_UTILIZATION = 0.01;

/**
 * Gives memory back once the process is idle: after start-up, and again after each busy
 * period that is followed by a quiet one, one memory-reducing garbage collection (V8's
 * "last resort" flavour: the young generation shrinks back from the 32 MiB start-up or a
 * load grew it to, the old one is compacted). V8's own memory reducer does not do it for an
 * idle server on Node 26 (it sees the start-up's allocation rate, never a newer one), so an
 * instance that served a burst kept ~40 MiB more RSS for as long as it stayed up. One such
 * collection costs some tens of milliseconds of CPU, spent only when nothing else runs.
 * The timer is unref'd: it never keeps the process alive.
 */
export function compactWhenIdle(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as Gc;
  let last = performance.eventLoopUtilization();
  let compacted = false;
  setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization >= IDLE_UTILIZATION;
    last = now;
    if (busy) {
      compacted = false;
    } else if (!compacted) {
      compacted = true;
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      // The collection itself is not activity.
      last = performance.eventLoopUtilization();
    }
  }, CHECK_EVERY_MS).unref();
}
