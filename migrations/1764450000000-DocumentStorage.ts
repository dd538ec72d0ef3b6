import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Document bytes leave the one `bytea` per document: each version of a document
 * is an object of a storage driver (`postgres`: fixed 256 KiB chunk rows here;
 * `s3`: an object in a bucket), named by `storage_key`. Existing contents become
 * version 1, chunked in SQL. Sizes become bigint (files up to 5 GiB with s3).
 * `document_uploads` holds direct uploads between their URL and completion;
 * their size counts toward the quota until then.
 */
export class DocumentStorage1764450000000 implements MigrationInterface {
  name = 'DocumentStorage1764450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE storage_chunks (
        object_key uuid NOT NULL,
        seq integer NOT NULL CHECK (seq >= 0),
        data bytea NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (object_key, seq)
      )`);
    await queryRunner.query(`
      CREATE TABLE document_versions (
        document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        n integer NOT NULL CHECK (n >= 1),
        storage_driver varchar(16) NOT NULL,
        storage_key uuid NOT NULL UNIQUE,
        filename varchar(255) NOT NULL,
        mime_type varchar(100) NOT NULL,
        size bigint NOT NULL CHECK (size >= 0),
        sha256 char(64) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (document_id, n)
      )`);
    await queryRunner.query(`ALTER TABLE documents ALTER COLUMN size TYPE bigint`);
    await queryRunner.query(`ALTER TABLE documents ADD COLUMN content_version integer NOT NULL DEFAULT 1`);
    await queryRunner.query(`
      INSERT INTO document_versions (document_id, n, storage_driver, storage_key, filename, mime_type, size, sha256, created_at)
      SELECT id, 1, 'postgres', gen_random_uuid(), filename, mime_type, size, sha256, created_at FROM documents`);
    await queryRunner.query(`
      INSERT INTO storage_chunks (object_key, seq, data)
      SELECT v.storage_key, s.seq, substring(c.data FROM s.seq * 262144 + 1 FOR 262144)
        FROM document_versions v
        JOIN document_contents c ON c.document_id = v.document_id
       CROSS JOIN LATERAL generate_series(0, (length(c.data) - 1) / 262144) AS s (seq)
       WHERE length(c.data) > 0`);
    await queryRunner.query(`DROP TABLE document_contents`);
    // A version's bytes go with its row, however the row goes (a document deleted, an
    // account deleted by cascade, a version pruned): postgres chunks in the same
    // transaction; objects elsewhere are queued in storage_deletions, which the
    // service drains right after its own deletes and the sweeper every minute.
    await queryRunner.query(`
      CREATE TABLE storage_deletions (
        storage_key uuid PRIMARY KEY,
        storage_driver varchar(16) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE FUNCTION release_version_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.storage_driver = 'postgres' THEN
          DELETE FROM storage_chunks WHERE object_key = OLD.storage_key;
        ELSE
          INSERT INTO storage_deletions (storage_key, storage_driver) VALUES (OLD.storage_key, OLD.storage_driver)
          ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER document_versions_release AFTER DELETE ON document_versions
      FOR EACH ROW EXECUTE FUNCTION release_version_bytes()`);
    await queryRunner.query(`
      CREATE TABLE document_uploads (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        storage_key uuid NOT NULL UNIQUE,
        filename varchar(255) NOT NULL,
        mime_type varchar(100) NOT NULL,
        size bigint NOT NULL CHECK (size >= 0),
        sha256 char(64),
        expires_at timestamptz(3) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    // A periodic job's lease: the instance that takes it runs the round, without holding a connection.
    await queryRunner.query(`CREATE TABLE job_leases (name varchar(64) PRIMARY KEY, until timestamptz(3) NOT NULL)`);
    await queryRunner.query(`CREATE INDEX document_uploads_owner_idx ON document_uploads (owner_id)`);
    await queryRunner.query(`CREATE INDEX document_uploads_expires_idx ON document_uploads (expires_at)`);
    await queryRunner.query(`CREATE INDEX storage_chunks_created_idx ON storage_chunks (created_at) WHERE seq = 0`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE document_contents (
        document_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
        data bytea NOT NULL
      )`);
    // Only bytes held by the postgres driver can come back; move s3 ones first (storage:migrate --to postgres).
    await queryRunner.query(`
      INSERT INTO document_contents (document_id, data)
      SELECT v.document_id, coalesce((SELECT string_agg(c.data, ''::bytea ORDER BY c.seq) FROM storage_chunks c
                                      WHERE c.object_key = v.storage_key), ''::bytea)
        FROM documents d JOIN document_versions v ON v.document_id = d.id AND v.n = d.content_version
       WHERE v.storage_driver = 'postgres'`);
    await queryRunner.query(`DROP TABLE job_leases`);
    await queryRunner.query(`DROP TABLE document_uploads`);
    await queryRunner.query(`DROP TRIGGER document_versions_release ON document_versions`);
    await queryRunner.query(`DROP FUNCTION release_version_bytes()`);
    await queryRunner.query(`DROP TABLE storage_deletions`);
    await queryRunner.query(`DROP TABLE document_versions`);
    await queryRunner.query(`DROP TABLE storage_chunks`);
    await queryRunner.query(`ALTER TABLE documents DROP COLUMN content_version`);
    await queryRunner.query(`ALTER TABLE documents ALTER COLUMN size TYPE integer`);
  }
}
