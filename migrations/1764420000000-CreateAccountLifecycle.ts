import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Email verification, one-time account tokens, the mail outbox and the audit log. */
export class CreateAccountLifecycle1764420000000 implements MigrationInterface {
  name = 'CreateAccountLifecycle1764420000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false`);
    // One live token per user and kind: a new one replaces the previous (ON CONFLICT).
    await queryRunner.query(`
      CREATE TABLE account_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        kind varchar(16) NOT NULL CHECK (kind IN ('verify-email', 'reset-password', 'change-email')),
        token_hash char(64) NOT NULL,
        email varchar(254) NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX account_tokens_user_kind_key ON account_tokens (user_id, kind)`);
    await queryRunner.query(`CREATE UNIQUE INDEX account_tokens_hash_key ON account_tokens (token_hash)`);
    await queryRunner.query(`
      CREATE TABLE mail_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind varchar(32) NOT NULL,
        recipient varchar(254) NOT NULL,
        subject varchar(200) NOT NULL,
        text_body text,
        html_body text,
        status varchar(8) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'logged')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
        last_error varchar(500),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        sent_at timestamptz(3)
      )`);
    await queryRunner.query(
      `CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE status = 'pending'`,
    );
    await queryRunner.query(`CREATE INDEX mail_outbox_created_at_idx ON mail_outbox (created_at)`);
    // No foreign key on user_id: the events of a deleted account outlive it until pruned.
    // seq orders the events (pages, newest first): several in one transaction share created_at.
    await queryRunner.query(`
      CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        user_id uuid,
        actor_id uuid,
        type varchar(48) NOT NULL,
        ip varchar(64),
        user_agent varchar(512),
        request_id varchar(128),
        details jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX audit_events_user_idx ON audit_events (user_id, seq)`);
    await queryRunner.query(`CREATE INDEX audit_events_created_at_idx ON audit_events (created_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_events`);
    await queryRunner.query(`DROP TABLE mail_outbox`);
    await queryRunner.query(`DROP TABLE account_tokens`);
    await queryRunner.query(`ALTER TABLE users DROP COLUMN email_verified`);
  }
}
