import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Injectable, type OnApplicationShutdown, type BeforeApplicationShutdown } from '@nestjs/common';
import type { RedisClientType } from '@keyv/redis';
import { AppLogger } from '../common/logger.js';
import { AppConfig } from '../config/config.js';
import { RedisConnection } from '../redis/redis.connection.js';
import type { PublishedEvent, StoredEvent } from './event.js';

/**
 * Appends the event to the replay stream (trimmed to the replay window) and
 * publishes it to every instance, in one step, so the order in the stream is
 * the order of delivery. Flagged to run even when Redis is full (see
 * RedisConnection.evalEvenWhenFull).
 */
const APPEND_AND_PUBLISH = `
local id = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', KEYS[2], id .. '\\n' .. ARGV[2])
return id`;

/**
 * Counts a user's open streams on every instance: a sorted set per user of
 * stream ids scored by when they expire. Expired ones (an instance that died
 * without closing them) are dropped first; the new one is added only while
 * fewer than the maximum remain. Returns 1 when added, 0 when full.
 */
const RESERVE_STREAM = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

/** One open event stream on this instance. */
export interface EventStream {
  /** Its id among the user's streams on every instance (from `reserve`). */
  id: string;
  userId: string;
  sessionId: string;
  res: ServerResponse;
}

/** The most events a reconnecting client is sent before being told to reload instead. */
const REPLAY_MAX = 1000;

/**
 * Live events for the GET /events streams. A change point calls `publish` with
 * the users it concerns; every instance delivers it to those users' open
 * streams. With Redis, through pub/sub (and a Redis stream keeps the last
 * EVENTS_REPLAY_SECONDS for Last-Event-ID); without it, or while it is down,
 * in this process only (and a buffer in memory keeps the replay window).
 */
@Injectable()
export class EventsService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly streams = new Map<string, Set<EventStream>>();
  private count = 0;
  /** This instance's recent events (all of them without Redis; those published while it was down with it). */
  private readonly recent: StoredEvent[] = [];
  private sequence = 0;
  private lastMs = 0;
  private subscriber: RedisClientType | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.heartbeat = setInterval(() => this.ping(), config.eventsHeartbeatMs);
    this.heartbeat.unref();
    if (redis.client) void this.subscribe(redis.client);
  }

  /** Open streams on this instance (all users). */
  get open(): number {
    return this.count;
  }

  /** Open streams of one user on this instance. */
  openFor(userId: string): number {
    return this.streams.get(userId)?.size ?? 0;
  }

  /**
   * Delivers an event to every open stream of the users it names, on every
   * instance. Never throws: a lost event costs a client a reload, not the
   * change that caused it.
   */
  async publish(event: PublishedEvent & { sessionId?: string }): Promise<void> {
    const userIds = [...new Set(event.userIds)];
    if (userIds.length === 0) return;
    const body = JSON.stringify({ type: event.type, userIds, data: event.data, sessionId: event.sessionId });
    if (this.subscriber?.isReady && this.redis.ready) {
      try {
        const now = Date.now();
        await this.redis.evalEvenWhenFull(
          APPEND_AND_PUBLISH,
          [this.streamKey, this.channel],
          [String(now - this.config.eventsReplaySeconds * 1000), body, String(this.config.eventsReplaySeconds * 2000)],
        );
        return; // delivered here too, through the subscription
      } catch {
        // Redis failed mid-way: this instance's clients still hear about it.
      }
    }
    const stored: StoredEvent = { id: this.nextLocalId(), ...(JSON.parse(body) as Omit<StoredEvent, 'id'>) };
    this.remember(stored);
    this.deliver(stored);
  }

  /**
   * Reserves one of the user's EVENTS_MAX_STREAMS_PER_USER streams, counted on
   * every instance through Redis (each instance renews its streams on every
   * heartbeat, so those of an instance that died age out within
   * `streamLeaseMs`); on this instance alone without Redis or while it does not
   * answer. The new stream's id, or undefined when the user has the most open
   * (or the instance is closing).
   */
  async reserve(userId: string): Promise<string | undefined> {
    const max = this.config.eventsMaxStreamsPerUser;
    if (this.closing || this.openFor(userId) >= max) return undefined;
    const id = randomUUID();
    if (!this.redis.ready) return id;
    try {
      const now = Date.now();
      const added = await this.redis.evalEvenWhenFull(
        RESERVE_STREAM,
        [this.streamsKey(userId)],
        [String(now), String(now + this.streamLeaseMs), String(max), id, String(this.streamLeaseMs)],
      );
      return Number(added) === 1 ? id : undefined;
    } catch {
      return id; // Redis did not answer: this instance's count is what holds
    }
  }

  /** Adds a reserved stream; false when the instance is closing or the client already left. */
  add(stream: EventStream): boolean {
    let mine = this.streams.get(stream.userId);
    if (this.closing || stream.res.destroyed) {
      this.release(stream);
      return false;
    }
    if (!mine) this.streams.set(stream.userId, (mine = new Set()));
    mine.add(stream);
    this.count += 1;
    stream.res.once('close', () => this.remove(stream));
    return true;
  }

  /**
   * What a client reconnecting with Last-Event-ID missed, oldest first, for this
   * user; undefined when that is not known any more (too old, or the replay
   * store unreachable): the client is told to reload.
   */
  async missed(userId: string, lastEventId: string): Promise<StoredEvent[] | undefined> {
    const match = /^(\d{1,15})-(\d{1,15})$/.exec(lastEventId);
    if (!match) return undefined;
    const since = Number(match[1]);
    if (since < Date.now() - this.config.eventsReplaySeconds * 1000) return undefined;
    const mine = (e: StoredEvent) => e.userIds.includes(userId);
    const local = this.recent.filter((e) => compareIds(e.id, lastEventId) > 0 && mine(e));
    if (!this.redis.configured) return local;
    try {
      const entries = await this.redis.run((redis) =>
        redis.xRange(this.streamKey, `(${lastEventId}`, '+', { COUNT: REPLAY_MAX }),
      );
      if (entries.length >= REPLAY_MAX) return undefined;
      const fromRedis = entries.map((entry) => ({
        id: entry.id,
        ...(JSON.parse(String(entry.message.e)) as Omit<StoredEvent, 'id'>),
      }));
      return [...fromRedis.filter(mine), ...local].sort((a, b) => compareIds(a.id, b.id));
    } catch {
      return undefined;
    }
  }

  /** Writes one event to one stream, as SSE. */
  write(stream: EventStream, event: StoredEvent): void {
    const data = event.type === 'reload' ? event.data : { ...event.data };
    stream.res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A reload event: the client should refetch what it shows (its Last-Event-ID is too old to replay). */
  reloadEvent(): StoredEvent {
    return { id: this.nextLocalId(), type: 'reload', userIds: [], data: {} };
  }

  /** SIGTERM: every stream ends (clients reconnect, to another instance), and no new one opens. */
  beforeApplicationShutdown(): void {
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const set of this.streams.values()) for (const stream of set) stream.res.end();
  }

  async onApplicationShutdown(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (!subscriber?.isOpen) return;
    try {
      await subscriber.close();
    } catch {
      subscriber.destroy();
    }
  }

  private get streamKey(): string {
    return `${this.config.redisKeyPrefix}events`;
  }

  private get channel(): string {
    return `${this.config.redisKeyPrefix}events:live`;
  }

  /** A connection of its own (a subscribed connection can do nothing else), reconnecting as the main one does. */
  private async subscribe(client: RedisClientType): Promise<void> {
    const subscriber = client.duplicate() as RedisClientType;
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // the main connection reports outages
    try {
      await subscriber.connect();
      await subscriber.subscribe(this.channel, (message: string) => this.received(message));
    } catch (error) {
      this.logger.warn(
        `Event subscription failed (${(error as Error).message}); events stay on this instance`,
        'Events',
      );
    }
  }

  private received(message: string): void {
    const newline = message.indexOf('\n');
    if (newline < 0) return;
    try {
      this.deliver({
        id: message.slice(0, newline),
        ...(JSON.parse(message.slice(newline + 1)) as Omit<StoredEvent, 'id'>),
      });
    } catch {
      // not one of ours
    }
  }

  private deliver(event: StoredEvent): void {
    for (const userId of event.userIds) {
      const mine = this.streams.get(userId);
      if (!mine) continue;
      for (const stream of [...mine]) {
        if (event.type === 'session.revoked' || event.type === 'token.revoked') {
          if (stream.sessionId !== event.sessionId) continue;
          this.write(stream, event);
          stream.res.end();
          continue;
        }
        this.write(stream, event);
      }
    }
  }

  private remove(stream: EventStream): void {
    const mine = this.streams.get(stream.userId);
    if (!mine?.delete(stream)) return;
    this.count -= 1;
    if (mine.size === 0) this.streams.delete(stream.userId);
    this.release(stream);
  }

  /** Gives the stream's place back on every instance (it ages out anyway when Redis does not answer). */
  private release(stream: EventStream): void {
    if (!this.redis.ready) return;
    this.redis.run((redis) => redis.zRem(this.streamsKey(stream.userId), stream.id)).catch(() => undefined);
  }

  /** How long a stream counts on every instance unless its instance renews it (three heartbeats, and a margin). */
  private get streamLeaseMs(): number {
    return 3 * this.config.eventsHeartbeatMs + 5000;
  }

  private streamsKey(userId: string): string {
    return `${this.config.redisKeyPrefix}events:streams:${userId}`;
  }

  private ping(): void {
    for (const set of this.streams.values()) for (const stream of set) stream.res.write(': keep-alive\n\n');
    void this.renew();
  }

  /**
   * Renews this instance's streams in Redis (and adds those opened while it was
   * down), so they keep counting; one round trip for all of them.
   */
  private async renew(): Promise<void> {
    if (this.streams.size === 0 || !this.redis.ready) return;
    const expiry = Date.now() + this.streamLeaseMs;
    try {
      await this.redis.run((redis) => {
        const batch = redis.multi();
        for (const [userId, set] of this.streams) {
          const key = this.streamsKey(userId);
          batch.zAdd(
            key,
            [...set].map((stream) => ({ score: expiry, value: stream.id })),
          );
          batch.pExpire(key, this.streamLeaseMs);
        }
        return batch.exec();
      });
    } catch {
      // Redis is down: the streams count here only until it returns.
    }
  }

  private remember(event: StoredEvent): void {
    this.recent.push(event);
    const oldest = Date.now() - this.config.eventsReplaySeconds * 1000;
    while (
      this.recent.length > 0 &&
      (Number(this.recent[0].id.split('-')[0]) < oldest || this.recent.length > REPLAY_MAX)
    ) {
      this.recent.shift();
    }
  }

  /** Ids in the form Redis gives stream entries (`<ms>-<seq>`), increasing on this instance. */
  private nextLocalId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.sequence = 0;
    } else this.sequence += 1;
    return `${this.lastMs}-${this.sequence}`;
  }
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}
