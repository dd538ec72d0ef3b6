import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Documents: metadata (listed often) apart from the bytes (read rarely), so a
 * list never touches the bytes. `search` is generated from the title
 * (weight A) and the first 256 Ki characters of the text (weight B): a
 * tsvector is capped at 1 MB, and a bounded input keeps every insert under it.
 */
export class CreateDocuments1764330000000 implements MigrationInterface {
  name = 'CreateDocuments1764330000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE documents (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        title varchar(200) NOT NULL,
        filename varchar(255) NOT NULL,
        mime_type varchar(100) NOT NULL,
        size integer NOT NULL CHECK (size >= 0),
        sha256 char(64) NOT NULL,
        tags text[] NOT NULL DEFAULT '{}',
        version integer NOT NULL DEFAULT 1,
        text_content text,
        search tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english', title), 'A') ||
          setweight(to_tsvector('english', left(coalesce(text_content, ''), 262144)), 'B')
        ) STORED,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE document_contents (
        document_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
        data bytea NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX documents_search_idx ON documents USING gin (search)`);
    await queryRunner.query(`CREATE INDEX documents_tags_idx ON documents USING gin (tags)`);
    await queryRunner.query(`CREATE INDEX documents_owner_created_idx ON documents (owner_id, created_at, id)`);
    await queryRunner.query(`CREATE INDEX documents_owner_title_idx ON documents (owner_id, title, id)`);
    await queryRunner.query(`CREATE INDEX documents_created_idx ON documents (created_at, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE document_contents`);
    await queryRunner.query(`DROP TABLE documents`);
  }
}
