import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { returningRows } from '../database/returning.js';

export interface TotpFactor {
  secret: string;
  confirmed: boolean;
}

/** The totp_factors and mfa_recovery_codes tables. */
@Injectable()
export class MfaRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findFactor(userId: string): Promise<TotpFactor | undefined> {
    const rows: Array<{ secret: string; confirmed: boolean }> = await this.dataSource.query(
      `SELECT secret, confirmed_at IS NOT NULL AS confirmed FROM totp_factors WHERE user_id = $1`,
      [userId],
    );
    return rows[0];
  }

  async isEnabled(userId: string): Promise<boolean> {
    return (await this.findFactor(userId))?.confirmed ?? false;
  }

  /** Starts (or restarts) an enrolment; false when a confirmed factor is there. */
  async savePending(userId: string, secret: string): Promise<boolean> {
    const rows = await this.dataSource.query(
      `INSERT INTO totp_factors (user_id, secret) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, last_used_step = NULL, created_at = now()
         WHERE totp_factors.confirmed_at IS NULL
       RETURNING user_id`,
      [userId, secret],
    );
    return returningRows(rows).length > 0;
  }

  /**
   * Records `step` as used, only if it is newer than any step used before: two requests
   * with the same code cannot both pass. With `confirming`, also turns a pending factor on.
   */
  async useStep(userId: string, step: number, confirming: boolean, manager?: EntityManager): Promise<boolean> {
    const rows = await (manager ?? this.dataSource.manager).query(
      `UPDATE totp_factors SET last_used_step = $2 ${confirming ? ', confirmed_at = now()' : ''}
        WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)
          AND confirmed_at IS ${confirming ? '' : 'NOT'} NULL
        RETURNING user_id`,
      [userId, step],
    );
    return returningRows(rows).length > 0;
  }

  async replaceRecoveryCodes(userId: string, hashes: string[], manager: EntityManager): Promise<void> {
    await manager.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
    await manager.query(`INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::char(64)[])`, [
      userId,
      hashes,
    ]);
  }

  /** Marks an unused recovery code used; false when there is none such. */
  async useRecoveryCode(userId: string, hash: string): Promise<boolean> {
    const rows = await this.dataSource.query(
      `UPDATE mfa_recovery_codes SET used_at = now()
        WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING id`,
      [userId, hash],
    );
    return returningRows(rows).length > 0;
  }

  async remainingRecoveryCodes(userId: string): Promise<number> {
    const [{ n }] = await this.dataSource.query(
      `SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`,
      [userId],
    );
    return n;
  }

  /** Removes the factor and its recovery codes; false when there was no factor. */
  async remove(userId: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
      const rows = await manager.query(`DELETE FROM totp_factors WHERE user_id = $1 RETURNING user_id`, [userId]);
      return returningRows(rows).length > 0;
    });
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}
