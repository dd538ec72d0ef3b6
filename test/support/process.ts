import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port.mjs';
import { TEST_JWT_SECRET } from './env.js';

export const ROOT = join(import.meta.dirname ?? process.cwd(), '..', '..');

export { freePort };

export interface Spawned {
  child: ChildProcess;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether this process logs its "Listening on" line (LOG_LEVEL info or debug). */
  logsListening: boolean;
}

/**
 * Runs a built entry point (`dist/main.js`, `dist/cli.js`, a fixture: relative to the
 * repository) with a clean environment. The working directory is where a `.env` is read:
 * the system's temporary directory unless given, so a developer's own `.env` in the
 * repository never reaches the tests.
 */
export function spawnNode(args: string[], env: Record<string, string>, cwd = tmpdir()): Spawned {
  const [script, ...rest] = args;
  const fullEnv = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    JWT_SECRET: TEST_JWT_SECRET,
    ...env,
  };
  const child = spawn(process.execPath, [join(ROOT, script), ...rest], {
    cwd,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, output: () => output, exit, logsListening: ['info', 'debug'].includes(fullEnv.LOG_LEVEL) };
}

/** Polls `url` until it answers 200, or fails after `timeoutMs` (or if the process exits). */
export async function waitFor200(url: string, spawned: Spawned, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  let exited = false;
  void spawned.exit.then(() => (exited = true));
  while (Date.now() - started < timeoutMs) {
    if (exited) throw new Error(`process exited before ${url} answered:\n${spawned.output()}`);
    // Until this process says it listens, a 200 may come from another test's server that
    // took the same free port while this one was starting (seen on a busy machine).
    const mayAnswer = !spawned.logsListening || spawned.output().includes('Listening on');
    try {
      const res = mayAnswer ? await fetch(url) : undefined;
      if (res?.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${spawned.output()}`);
}

/** Polls until `done` is true; fails after `timeoutMs` (or when the process exits). */
export async function until(
  what: string,
  server: Spawned,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const started = Date.now();
  let exited = false;
  void server.exit.then(() => (exited = true));
  while (!(await done())) {
    if (exited) throw new Error(`${what}: the process exited:\n${server.output()}`);
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Spawns dist/main.js on a free port (or env.PORT) and waits until it is ready; `running` keeps it for cleanup. */
export async function startMain(
  env: Record<string, string>,
  running: Spawned[],
  cwd?: string,
): Promise<{ server: Spawned; base: string }> {
  const port = env.PORT ?? String(await freePort());
  const server = spawnNode(['dist/main.js'], { ...env, PORT: port }, cwd);
  running.push(server);
  const base = `http://127.0.0.1:${port}`;
  await waitFor200(`${base}/health/ready`, server, 60_000);
  return { server, base };
}
