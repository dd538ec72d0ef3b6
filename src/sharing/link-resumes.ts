import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/config.js';
import { RedisConnection } from '../redis/redis.connection.js';
import { RedisOrMemory } from '../redis/redis-or-memory.js';

/** How long after its last counted download (or served piece) one caller may go on fetching pieces of a link uncounted. */
export const LINK_RESUME_WINDOW_MS = 60 * 60_000;

/**
 * Which callers (link and IP) downloaded a shared link lately, so that the
 * pieces of a resumed or split download (ranges not starting at byte 0) do not
 * each count towards maxDownloads, even once the download that started them
 * used the link up. In Redis (every instance sees it), else in memory.
 */
@Injectable()
export class LinkResumes {
  private readonly store: RedisOrMemory<number>;

  constructor(redis: RedisConnection, config: AppConfig) {
    this.store = new RedisOrMemory(redis, `${config.redisKeyPrefix}link-dl:`, 'memory', { maxEntries: 100_000 });
  }

  /** Notes (or renews) that `ip` is downloading the link. */
  async remember(linkId: string, ip: string): Promise<void> {
    const id = `${linkId}:${ip}`;
    const set = await this.store.inRedis(
      (redis, [key]) => redis.set(key, '1', { expiration: { type: 'PX', value: LINK_RESUME_WINDOW_MS } }),
      id,
    );
    if (set === undefined) this.store.memory.set(id, 1, LINK_RESUME_WINDOW_MS);
  }

  /** Whether `ip` downloaded the link within the window. */
  async downloading(linkId: string, ip: string): Promise<boolean> {
    const id = `${linkId}:${ip}`;
    const found = await this.store.inRedis((redis, [key]) => redis.exists(key), id);
    return found === undefined ? this.store.memory.get(id) !== undefined : found > 0;
  }
}
