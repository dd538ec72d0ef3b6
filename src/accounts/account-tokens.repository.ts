import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { returningRows } from '../database/returning.js';
import type { AccountTokenKind } from './account-token.js';

export interface ConsumedToken {
  userId: string;
  kind: AccountTokenKind;
  email: string;
}

/** One-time account tokens, stored as SHA-256 hashes. Every method runs in the caller's transaction. */
@Injectable()
export class AccountTokensRepository {
  /** Stores a token, replacing the user's previous one of the same kind. */
  async issue(
    manager: EntityManager,
    values: { userId: string; kind: AccountTokenKind; tokenHash: string; email: string; ttlSeconds: number },
  ): Promise<void> {
    await manager.query(
      `INSERT INTO account_tokens (user_id, kind, token_hash, email, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
       ON CONFLICT (user_id, kind) DO UPDATE
         SET token_hash = excluded.token_hash, email = excluded.email, expires_at = excluded.expires_at,
             created_at = now()`,
      [values.userId, values.kind, values.tokenHash, values.email, values.ttlSeconds],
    );
  }

  /** Deletes the token and returns it, if it exists, is of one of `kinds` and has not expired: single use. */
  async consume(manager: EntityManager, tokenHash: string, kinds: AccountTokenKind[]): Promise<ConsumedToken | null> {
    const rows = await manager.query(
      `DELETE FROM account_tokens WHERE token_hash = $1 AND kind = ANY($2) AND expires_at > now()
       RETURNING user_id AS "userId", kind, email`,
      [tokenHash, kinds],
    );
    return returningRows<ConsumedToken>(rows)[0] ?? null;
  }

  async revoke(manager: EntityManager, userId: string, kinds: AccountTokenKind[]): Promise<void> {
    await manager.query(`DELETE FROM account_tokens WHERE user_id = $1 AND kind = ANY($2)`, [userId, kinds]);
  }
}
