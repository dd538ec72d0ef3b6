import { Injectable } from '@nestjs/common';
import { DataSource, IsNull, type Repository } from 'typeorm';
import { returningRows } from '../database/returning.js';
import { RETIRED_TOKENS_KEPT } from './refresh-token.js';
import { Session } from './session.entity.js';

export interface NewSession {
  userId: string;
  refreshTokenHash: string;
  userAgent: string | null;
  ip: string | null;
  expiresAt: Date;
}

@Injectable()
export class SessionsRepository {
  private readonly sessions: Repository<Session>;

  constructor(private readonly dataSource: DataSource) {
    this.sessions = dataSource.getRepository(Session);
  }

  create(values: NewSession): Promise<Session> {
    return this.sessions.save(this.sessions.create(values));
  }

  findById(id: string): Promise<Session | null> {
    return this.sessions.findOneBy({ id });
  }

  /**
   * Whether an access token's session may be used: `active` (live, and its user
   * enabled), `disabled` (live, but its user is disabled), or `gone` (revoked,
   * expired, unknown, or not this user's: none of which can change back).
   */
  async findState(sessionId: string, userId: string): Promise<'active' | 'disabled' | 'gone'> {
    const rows: Array<{ live: boolean; disabled: boolean }> = await this.dataSource.query(
      `SELECT s.revoked_at IS NULL AND s.expires_at > now() AS live, u.disabled
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.user_id = $2`,
      [sessionId, userId],
    );
    const row = rows[0];
    if (!row?.live) return 'gone';
    return row.disabled ? 'disabled' : 'active';
  }

  /**
   * Replaces the refresh token hash, but only if it is still `expectedHash`
   * (so two concurrent refreshes cannot both rotate from the same state).
   */
  async rotate(
    id: string,
    expectedHash: string,
    next: {
      refreshTokenHash: string;
      previousTokenHash: string;
      expiresAt: Date;
      userAgent: string | null;
      ip: string | null;
    },
  ): Promise<boolean> {
    const result = await this.sessions
      .createQueryBuilder()
      .update(Session)
      .set({
        refreshTokenHash: next.refreshTokenHash,
        previousTokenHash: next.previousTokenHash,
        // The token rotated away joins the front of the list; the oldest fall off.
        retiredTokenHashes: () =>
          `(ARRAY[refresh_token_hash]::varchar(64)[] || retired_token_hashes)[1:${RETIRED_TOKENS_KEPT}]`,
        rotatedAt: () => 'now()',
        rotationCount: () => 'rotation_count + 1',
        lastUsedAt: () => 'now()',
        expiresAt: next.expiresAt,
        userAgent: next.userAgent,
        ip: next.ip,
      })
      .where('id = :id AND refresh_token_hash = :expectedHash AND revoked_at IS NULL', { id, expectedHash })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  async revoke(id: string, userId: string): Promise<boolean> {
    const result = await this.sessions.update({ id, userId, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    return (result.affected ?? 0) > 0;
  }

  /** Revokes every live session of a user except `keep`; returns the ids revoked. */
  async revokeAllForUser(userId: string, keep?: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `UPDATE sessions SET revoked_at = now()
        WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)
        RETURNING id`,
      [userId, keep ?? null],
    );
    return returningRows<{ id: string }>(rows).map((r) => r.id);
  }

  async idsForUser(userId: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL',
      [userId],
    );
    return rows.map((r) => r.id);
  }

  /** Live sessions, most recently used first, keyset on (last_used_at, id). */
  listActive(userId: string, limit: number, after?: { lastUsedAt: string; id: string }): Promise<Session[]> {
    const qb = this.sessions
      .createQueryBuilder('s')
      .where('s.user_id = :userId AND s.revoked_at IS NULL AND s.expires_at > now()', { userId })
      .orderBy('s.last_used_at', 'DESC')
      .addOrderBy('s.id', 'DESC');
    if (after) qb.andWhere('(s.last_used_at, s.id) < (:lastUsedAt, :id)', after);
    return qb.limit(limit + 1).getMany();
  }
}
