import type { MigrationInterface, QueryRunner } from 'typeorm';

/** TOTP second factors with their recovery codes, and personal access tokens. */
export class CreateMfaAndAccessTokens1764440000000 implements MigrationInterface {
  name = 'CreateMfaAndAccessTokens1764440000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // One factor per user: pending (confirmed_at null) until a first code proves the app has it.
    // last_used_step: the newest 30 s step a code was accepted for; older or equal ones are replays.
    await queryRunner.query(`
      CREATE TABLE totp_factors (
        user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret varchar(64) NOT NULL,
        confirmed_at timestamptz(3),
        last_used_step bigint,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE mfa_recovery_codes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash char(64) NOT NULL,
        used_at timestamptz(3)
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX mfa_recovery_codes_user_hash_key ON mfa_recovery_codes (user_id, code_hash)`,
    );
    await queryRunner.query(`
      CREATE TABLE personal_access_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        scopes varchar(32)[] NOT NULL,
        token_hash char(64) NOT NULL,
        prefix varchar(16) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        last_used_at timestamptz(3),
        expires_at timestamptz(3)
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX personal_access_tokens_hash_key ON personal_access_tokens (token_hash)`,
    );
    await queryRunner.query(
      `CREATE INDEX personal_access_tokens_user_idx ON personal_access_tokens (user_id, created_at, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE personal_access_tokens`);
    await queryRunner.query(`DROP TABLE mfa_recovery_codes`);
    await queryRunner.query(`DROP TABLE totp_factors`);
  }
}
