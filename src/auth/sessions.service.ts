import { Injectable } from '@nestjs/common';
import { SessionCache } from './session-cache.js';
import { SessionsRepository } from './sessions.repository.js';

/** Session checks and revocations, shared by auth and account management. */
@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly cache: SessionCache,
  ) {}

  /** True when the access token's session is live and its user enabled. Cached briefly. */
  async isActive(sessionId: string, userId: string): Promise<boolean> {
    if ((await this.cache.get(sessionId)) === userId) return true;
    const active = (await this.sessions.findActiveUserId(sessionId, userId)) !== null;
    if (active) await this.cache.set(sessionId, userId);
    return active;
  }

  async revoke(sessionId: string, userId: string): Promise<boolean> {
    const revoked = await this.sessions.revoke(sessionId, userId);
    await this.cache.drop([sessionId]);
    return revoked;
  }

  async revokeAll(userId: string, keep?: string): Promise<void> {
    await this.cache.drop(await this.sessions.revokeAllForUser(userId, keep));
  }

  /**
   * Runs `remove` (which deletes the user, and so their sessions by cascade),
   * then forgets every session of theirs that was cached.
   */
  async removeUser(userId: string, remove: () => Promise<boolean>): Promise<boolean> {
    const ids = await this.sessions.idsForUser(userId);
    const removed = await remove();
    await this.cache.drop(ids);
    return removed;
  }
}
