import { createClient, type RedisClientType } from '@keyv/redis';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';

/** How long start-up waits for Redis before serving without it (it keeps reconnecting). */
const CONNECT_WAIT_MS = 2000;

/**
 * The one Redis connection (node-redis v5, the client @keyv/redis uses),
 * shared by the response cache, the rate-limit counters and the session
 * lookup cache. Only made when REDIS_URL is set.
 *
 * Commands fail fast instead of queueing while disconnected, and `run` and
 * `bounded` give up on one after REDIS_COMMAND_TIMEOUT_MS, so a Redis outage
 * costs callers a fallback, never a hang. It reconnects on its own.
 *
 * (node-redis's own per-command timeout makes an AbortSignal, a timer and
 * listeners for every command: a tenth of the CPU of a cached request,
 * measured. One plain timer per call does the same job.)
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client: RedisClientType | undefined;
  private reportedDown = false;
  /** False once Redis turned out not to know script flags (before 7.0). */
  private scriptFlagsKnown = true;
  private readonly readyListeners: Array<() => void> = [];

  private readonly timeoutMs: number;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.timeoutMs = config.redisCommandTimeoutMs;
    if (!config.redisUrl) return;
    this.client = createClient({
      url: config.redisUrl,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    }) as RedisClientType;
    this.client.on('error', (error: Error) => {
      if (this.reportedDown) return;
      this.reportedDown = true;
      this.logger.warn(`Redis unavailable (${error.message}); using in-process fallbacks until it returns`, 'Redis');
    });
    this.client.on('ready', () => {
      if (this.reportedDown) this.logger.log('Redis is back', 'Redis');
      this.reportedDown = false;
      for (const listener of this.readyListeners) listener();
    });
  }

  /** Connects, but waits at most a moment: the service starts without Redis if need be. */
  async connect(): Promise<void> {
    if (!this.client) return;
    const connecting = this.client.connect().catch(() => undefined);
    await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, CONNECT_WAIT_MS).unref())]);
  }

  get configured(): boolean {
    return this.client !== undefined;
  }

  /** Connected and accepting commands right now. */
  get ready(): boolean {
    return this.client?.isReady ?? false;
  }

  /** Runs commands on the connection; rejects at once when it is down, or after the timeout. */
  run<T>(commands: (client: RedisClientType) => Promise<T>): Promise<T> {
    if (!this.client?.isReady) return Promise.reject(new Error('Redis is not connected'));
    return this.bounded(commands(this.client));
  }

  /** Rejects when `work` takes longer than REDIS_COMMAND_TIMEOUT_MS. */
  bounded<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Redis command timed out')), this.timeoutMs);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  /**
   * Runs a Lua script that must write even when Redis is full (a rate-limit counter,
   * a cache invalidation): the Blueprint runs Key Value with `noeviction`, which
   * refuses ordinary writes once memory is used up. The script is flagged
   * `allow-oom` (Redis 7 / Valkey); Redis 6 cannot read the flags line, so there it
   * runs unflagged from the first refusal on.
   */
  async evalEvenWhenFull(body: string, keys: string[], args: string[]): Promise<unknown> {
    const run = (script: string) => this.run((redis) => redis.eval(script, { keys, arguments: args }));
    if (!this.scriptFlagsKnown) return run(body);
    try {
      return await run(`#!lua flags=allow-oom${body}`);
    } catch (error) {
      if (!/compil/i.test((error as Error).message)) throw error;
      this.scriptFlagsKnown = false;
      return run(body);
    }
  }

  /** Called each time the connection becomes ready again. */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client?.isOpen) return;
    try {
      await this.client.close();
    } catch {
      this.client.destroy();
    }
  }
}
