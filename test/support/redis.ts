import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp, type TestAppOptions } from './app.js';
import { type Account, signUp } from './auth.js';
import { freePort } from './process.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A redis-server of the test's own, on its own port, to stop, start, hang
 * (SIGSTOP) and resume at will. With `keepsData`, every write is appended to a
 * file synchronously (appendfsync always), so a restart after SIGKILL comes back
 * with everything it had.
 */
export class OwnRedis {
  private process: ChildProcess | undefined;
  private readonly dir: string | undefined;

  constructor(
    readonly port: number,
    { keepsData = false }: { keepsData?: boolean } = {},
  ) {
    if (keepsData) this.dir = mkdtempSync(join(tmpdir(), 'ultrai-redis-'));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server; with `denyEval`, the default user may not run EVAL until `allowEval`. */
  async start({ denyEval = false }: { denyEval?: boolean } = {}): Promise<void> {
    const acl = denyEval ? ['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', '-eval'] : [];
    const persistence = this.dir
      ? ['--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
      : ['--save', '', '--appendonly', 'no'];
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', ...persistence, ...acl], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if (await this.answers()) return;
      await sleep(50);
    }
    throw new Error('redis-server did not start');
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Hangs the server: connections stay open, nothing is answered. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** Lets the default user run EVAL again (connections already open included). */
  async allowEval(): Promise<void> {
    const reply = await this.command('ACL SETUSER default +eval\r\n');
    if (!reply.startsWith('+OK')) throw new Error(`ACL SETUSER answered ${reply}`);
  }

  /** The number of keys it holds (DBSIZE), on a connection of its own. */
  async keys(): Promise<number> {
    const reply = await this.command('DBSIZE\r\n');
    return Number(/^:(\d+)/.exec(reply)?.[1] ?? NaN);
  }

  async cleanup(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async answers(): Promise<boolean> {
    return (await this.command('PING\r\n').catch(() => '')).startsWith('+PONG');
  }

  private command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      socket.on('connect', () => socket.write(line));
      socket.on('data', (data: Buffer) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.on('error', reject);
    });
  }
}

/**
 * The application on a redis-server of its own (started first), with Redis
 * commands bounded at 200 ms, and one signed-up user; `close` stops both.
 */
export async function startOnOwnRedis(
  options: { keepsData?: boolean; logs?: TestAppOptions['logs'] } = {},
): Promise<{ t: TestApp; redis: OwnRedis; user: Account; close(): Promise<void> }> {
  const redis = new OwnRedis(await freePort(), options);
  await redis.start();
  const t = await startTestApp({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' }, logs: options.logs });
  const user = await signUp(t);
  return {
    t,
    redis,
    user,
    async close() {
      await t.close();
      await redis.cleanup();
    },
  };
}
