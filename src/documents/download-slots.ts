import { Injectable } from '@nestjs/common';
import { AppError } from '../common/problem.js';
import { AppConfig } from '../config/config.js';

/** About how long a 10 MiB download takes on a modest link: when a slot may be free again. */
const RETRY_AFTER_SECONDS = '5';

/** Frees a slot; calling it more than once frees it once. */
export type ReleaseSlot = () => void;

/**
 * Counts the downloads in flight on this instance, per user and in all. Each
 * holds its whole file in memory until the client has taken it (the bytes live
 * in PostgreSQL; there is no streaming storage yet), so these bounds are what
 * keeps many slow or unread downloads from exhausting the instance's memory.
 * They are per instance on purpose: memory is.
 */
@Injectable()
export class DownloadSlots {
  private readonly perUser = new Map<string, number>();
  private total = 0;

  constructor(private readonly config: AppConfig) {}

  /** Takes a slot for the user, or throws 429 (their own cap) or 503 (the instance's). */
  acquire(userId: string): ReleaseSlot {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.config.downloadConcurrencyPerUser) {
      throw new AppError(
        429,
        'too-many-downloads',
        `You already have ${mine} downloads in progress; wait for one to finish.`,
        undefined,
        { 'retry-after': RETRY_AFTER_SECONDS },
      );
    }
    if (this.total >= this.config.downloadConcurrency) {
      throw new AppError(
        503,
        'downloads-busy',
        'Too many downloads are in progress on this server; retry in a moment.',
        undefined,
        { 'retry-after': RETRY_AFTER_SECONDS },
      );
    }
    this.perUser.set(userId, mine + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perUser.get(userId) ?? 1) - 1;
      if (left === 0) this.perUser.delete(userId);
      else this.perUser.set(userId, left);
    };
  }
}
