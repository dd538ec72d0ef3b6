import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../common/principal.js';

/** How long a stream ticket may be used to open a stream. */
export const TICKET_TTL_SECONDS = 60;

/** What a valid ticket says: whom it opens a stream for, its single-use id, and its expiry. */
export interface TicketClaim {
  principal: Principal;
  id: string;
  expiresAtMs: number;
}

/**
 * A short-lived credential that opens one kind of thing only: an event stream
 * (`GET /events?ticket=`), for a browser's EventSource, which cannot send an
 * Authorization header. It names the user and session, expires in a minute,
 * and is signed with a key derived from JWT_SECRET for this purpose alone, so
 * it is never accepted as an access token (nor an access token as a ticket).
 * The stream it opens still needs the session live, and closes when it is revoked.
 * Each ticket carries a random id so it can be used once (see UsedTickets).
 */
export class StreamTickets {
  /** Derived on first use: the start of a server that never issues a ticket pays nothing for it. */
  private key?: Buffer;

  constructor(private readonly secret: string) {}

  issue(principal: Principal, now = Date.now()): string {
    const payload = Buffer.from(
      JSON.stringify({
        u: principal.userId,
        s: principal.sessionId,
        e: Math.floor(now / 1000) + TICKET_TTL_SECONDS,
        n: randomBytes(16).toString('base64url'),
      }),
    ).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The principal a ticket names, its id and expiry, when it is ours and unexpired. */
  verify(ticket: string, now = Date.now()): TicketClaim | undefined {
    if (ticket.length > 512) return undefined;
    const [payload, signature, extra] = ticket.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const { u, s, e, n } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      if (typeof u !== 'string' || typeof s !== 'string' || typeof e !== 'number' || typeof n !== 'string')
        return undefined;
      if (e * 1000 <= now) return undefined;
      return { principal: { userId: u, sessionId: s }, id: n, expiresAtMs: e * 1000 };
    } catch {
      return undefined;
    }
  }

  private sign(payload: string): string {
    this.key ??= createHmac('sha256', this.secret).update('ultrai:event-stream-ticket').digest();
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
