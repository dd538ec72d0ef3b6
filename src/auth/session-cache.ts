import { Injectable } from '@nestjs/common';

const TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;

/**
 * Remembers, for a few seconds, that a session is live and its user enabled,
 * so an authenticated request costs no database round trip. Entries are
 * dropped the moment a session is revoked or its user disabled or deleted;
 * the TTL bounds how long another instance (with its own memory) can lag.
 */
@Injectable()
export class SessionCache {
  private readonly entries = new Map<string, { userId: string; until: number }>();

  get(sessionId: string): string | undefined {
    const entry = this.entries.get(sessionId);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(sessionId);
      return undefined;
    }
    return entry.userId;
  }

  set(sessionId: string, userId: string): void {
    if (this.entries.size >= MAX_ENTRIES) {
      // Oldest first: a Map iterates in insertion order.
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(sessionId, { userId, until: Date.now() + TTL_MS });
  }

  drop(sessionIds: Iterable<string>): void {
    for (const id of sessionIds) this.entries.delete(id);
  }
}
