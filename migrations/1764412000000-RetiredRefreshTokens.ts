import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hashes of the refresh tokens a session issued and rotated away (the most
 * recent first, a bounded number), so that reuse is recognised only for a token
 * the session really issued; an unknown secret changes nothing.
 */
export class RetiredRefreshTokens1764412000000 implements MigrationInterface {
  name = 'RetiredRefreshTokens1764412000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE sessions ADD COLUMN retired_token_hashes varchar(64)[] NOT NULL DEFAULT '{}'`);
    await queryRunner.query(
      `UPDATE sessions SET retired_token_hashes = ARRAY[previous_token_hash] WHERE previous_token_hash IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE sessions DROP COLUMN retired_token_hashes`);
  }
}
