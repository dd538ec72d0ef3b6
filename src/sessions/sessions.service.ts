import { Injectable } from '@nestjs/common';
import { EventsService } from '../events/events.service.js';
import { SessionCache } from './session-cache.js';
import { SessionsRepository } from './sessions.repository.js';

/** Session checks and revocations, shared by auth and account management. */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly cache: SessionCache,
    private readonly events: EventsService,
  ) {}

  /**
   * True when the access token's session is live and its user enabled. Cached
   * briefly; a session found revoked, expired or unknown is cached as such (it
   * never comes back), so a replayed dead token costs no database round trip.
   * With `cachedOnly`, a session the cache does not know counts as not active.
   */
  async isActive(sessionId: string, userId: string, { cachedOnly = false } = {}): Promise<boolean> {
    const cached = await this.cache.get(sessionId);
    if (cached !== undefined) return cached === userId;
    if (cachedOnly) return false;
    const state = await this.sessions.findState(sessionId, userId);
    if (state === 'active') await this.cache.fill(sessionId, userId);
    // A disabled user's sessions are revoked when they are disabled; one disabled
    // some other way is refused but not remembered, as it may be enabled again.
    else if (state === 'gone') await this.cache.revoke([sessionId]);
    return state === 'active';
  }

  async revoke(sessionId: string, userId: string): Promise<boolean> {
    const revoked = await this.sessions.revoke(sessionId, userId);
    if (revoked) {
      await this.cache.revoke([sessionId]);
      await this.revoked(userId, [sessionId]);
    }
    return revoked;
  }

  async revokeAll(userId: string, keep?: string): Promise<void> {
    const ids = await this.sessions.revokeAllForUser(userId, keep);
    await this.cache.revoke(ids);
    await this.revoked(userId, ids);
  }

  /**
   * Runs `remove` (which deletes the user, and so their sessions by cascade),
   * then forgets every session of theirs that was cached.
   */
  async removeUser(userId: string, remove: () => Promise<boolean>): Promise<boolean> {
    const ids = await this.sessions.idsForUser(userId);
    const removed = await remove();
    if (removed) {
      await this.cache.revoke(ids);
      await this.revoked(userId, ids);
    }
    return removed;
  }

  /** Each revoked session's open event streams get session.revoked and close, on every instance. */
  private async revoked(userId: string, sessionIds: string[]): Promise<void> {
    await Promise.all(
      sessionIds.map((sessionId) =>
        this.events.publish({ type: 'session.revoked', userIds: [userId], sessionId, data: { sessionId } }),
      ),
    );
  }
}
