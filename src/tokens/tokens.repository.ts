import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Scope } from '../auth/scopes.decorator.js';
import { returningRows } from '../database/returning.js';

export interface TokenRow {
  id: string;
  name: string;
  scopes: Scope[];
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}

/** What authenticating a token needs to know. */
export interface TokenGrant {
  id: string;
  userId: string;
  scopes: Scope[];
  /** Epoch ms, or null: never expires. */
  expiresAt: number | null;
}

// to_json: the same arrays from node-postgres and PGlite.
const COLUMNS = `id, name, to_json(scopes) AS scopes, prefix, created_at AS "createdAt",
  last_used_at AS "lastUsedAt", expires_at AS "expiresAt"`;

/** The personal_access_tokens table; a token is stored as the SHA-256 of its secret only. */
@Injectable()
export class TokensRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(values: {
    userId: string;
    name: string;
    scopes: Scope[];
    tokenHash: string;
    prefix: string;
    expiresAt: Date | null;
  }): Promise<TokenRow> {
    const rows = await this.dataSource.query(
      `INSERT INTO personal_access_tokens (user_id, name, scopes, token_hash, prefix, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [values.userId, values.name, values.scopes, values.tokenHash, values.prefix, values.expiresAt],
    );
    return returningRows<TokenRow>(rows)[0];
  }

  async count(userId: string): Promise<number> {
    const [{ n }] = await this.dataSource.query(
      `SELECT count(*)::int AS n FROM personal_access_tokens WHERE user_id = $1`,
      [userId],
    );
    return n;
  }

  /** Newest first, keyset on (created_at, id). */
  list(userId: string, limit: number, after?: { createdAt: string; id: string }): Promise<TokenRow[]> {
    return this.dataSource.query(
      `SELECT ${COLUMNS} FROM personal_access_tokens
        WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $4`,
      [userId, after?.createdAt ?? null, after?.id ?? null, limit + 1],
    );
  }

  /** Deletes one of the user's tokens; returns its hash (to revoke it in the cache), or undefined. */
  async delete(id: string, userId: string): Promise<string | undefined> {
    const rows = await this.dataSource.query(
      `DELETE FROM personal_access_tokens WHERE id = $1 AND user_id = $2 RETURNING token_hash`,
      [id, userId],
    );
    return returningRows<{ token_hash: string }>(rows)[0]?.token_hash;
  }

  /** The grant of a live token of an enabled user; undefined for unknown, expired or disabled. */
  async findGrant(tokenHash: string): Promise<TokenGrant | undefined> {
    const rows: Array<{ id: string; userId: string; scopes: Scope[]; expiresAt: Date | null }> =
      await this.dataSource.query(
        `SELECT t.id, t.user_id AS "userId", to_json(t.scopes) AS scopes, t.expires_at AS "expiresAt"
           FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = $1 AND NOT u.disabled AND (t.expires_at IS NULL OR t.expires_at > now())`,
        [tokenHash],
      );
    const row = rows[0];
    return row && { ...row, expiresAt: row.expiresAt ? row.expiresAt.getTime() : null };
  }

  /** Every token of a user: its id and hash. */
  async ofUser(userId: string): Promise<Array<{ id: string; hash: string }>> {
    return this.dataSource.query(`SELECT id, token_hash AS hash FROM personal_access_tokens WHERE user_id = $1`, [
      userId,
    ]);
  }

  /** Sets last_used_at unless another instance did within the last `minMs`. */
  async touch(id: string, minMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE personal_access_tokens SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
      [id, minMs / 1000],
    );
  }
}
