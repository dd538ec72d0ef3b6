import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Documents shared with people (viewer/editor) and by link. */
export class CreateSharing1764470000000 implements MigrationInterface {
  name = 'CreateSharing1764470000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // One share per document and person; a new share for the same person changes its role.
    // invited_email is what the owner typed (null when they shared by user id): the list shows
    // that, never an address the owner did not already know.
    await queryRunner.query(`
      CREATE TABLE document_shares (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role varchar(8) NOT NULL CHECK (role IN ('viewer', 'editor')),
        invited_email varchar(254),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX document_shares_document_user_key ON document_shares (document_id, user_id)`,
    );
    await queryRunner.query(`CREATE INDEX document_shares_user_idx ON document_shares (user_id)`);
    // A link's token is only stored as its sha256; the password as an argon2id hash.
    await queryRunner.query(`
      CREATE TABLE document_links (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        token_hash char(64) NOT NULL,
        password_hash text,
        expires_at timestamptz(3),
        max_downloads integer CHECK (max_downloads > 0),
        downloads integer NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX document_links_token_hash_key ON document_links (token_hash)`);
    await queryRunner.query(`CREATE INDEX document_links_document_idx ON document_links (document_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE document_links`);
    await queryRunner.query(`DROP TABLE document_shares`);
  }
}
