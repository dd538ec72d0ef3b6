import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenID Connect sign-in: the identities linked to accounts, the pending
 * authorizations (state, nonce and PKCE verifier, kept here so that any
 * instance can take the callback) and the one-time codes a client trades for
 * tokens. Accounts made by a sign-in have no password of their own until they
 * set one (`password_set`).
 */
export class CreateOidcIdentities1764430000000 implements MigrationInterface {
  name = 'CreateOidcIdentities1764430000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE users ADD COLUMN password_set boolean NOT NULL DEFAULT true`);
    await queryRunner.query(`
      CREATE TABLE user_identities (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        issuer varchar(512) NOT NULL,
        subject varchar(255) NOT NULL,
        email varchar(254),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        last_login_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX user_identities_issuer_subject_key ON user_identities (issuer, subject)`,
    );
    await queryRunner.query(`CREATE INDEX user_identities_user_idx ON user_identities (user_id)`);
    // Only hashes of the state and of the codes: a leaked table gives nothing to replay.
    await queryRunner.query(`
      CREATE TABLE oidc_authorizations (
        state_hash char(64) PRIMARY KEY,
        code_verifier varchar(128) NOT NULL,
        nonce varchar(128) NOT NULL,
        callback_url varchar(2048) NOT NULL,
        redirect_uri varchar(2048) NOT NULL,
        expires_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX oidc_authorizations_expires_idx ON oidc_authorizations (expires_at)`);
    await queryRunner.query(`
      CREATE TABLE oidc_login_codes (
        code_hash char(64) PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        identity_id uuid NOT NULL REFERENCES user_identities (id) ON DELETE CASCADE,
        second_factor boolean NOT NULL DEFAULT false,
        expires_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX oidc_login_codes_expires_idx ON oidc_login_codes (expires_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE oidc_login_codes`);
    await queryRunner.query(`DROP TABLE oidc_authorizations`);
    await queryRunner.query(`DROP TABLE user_identities`);
    await queryRunner.query(`ALTER TABLE users DROP COLUMN password_set`);
  }
}
