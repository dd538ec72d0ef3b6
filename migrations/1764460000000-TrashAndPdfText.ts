import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trash: a deleted document keeps its row and bytes with `deleted_at` set
 * until it is restored or purged. PDF text: `text_status` on the document and
 * one job row per PDF whose text is still to be extracted (rows, not timers,
 * so they survive a restart). PDFs stored before this get a job each.
 */
export class TrashAndPdfText1764460000000 implements MigrationInterface {
  name = 'TrashAndPdfText1764460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE documents ADD COLUMN deleted_at timestamptz(3)`);
    await queryRunner.query(
      `ALTER TABLE documents ADD COLUMN text_status varchar(8) NOT NULL DEFAULT 'none'
         CHECK (text_status IN ('none', 'pending', 'indexed', 'failed'))`,
    );
    await queryRunner.query(`UPDATE documents SET text_status = 'indexed' WHERE text_content IS NOT NULL`);
    await queryRunner.query(`UPDATE documents SET text_status = 'pending' WHERE mime_type = 'application/pdf'`);
    await queryRunner.query(
      `CREATE INDEX documents_trash_idx ON documents (owner_id, deleted_at, id) WHERE deleted_at IS NOT NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE pdf_text_jobs (
        document_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX pdf_text_jobs_due_idx ON pdf_text_jobs (next_attempt_at)`);
    await queryRunner.query(
      `INSERT INTO pdf_text_jobs (document_id) SELECT id FROM documents WHERE mime_type = 'application/pdf'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE pdf_text_jobs`);
    await queryRunner.query(`DROP INDEX documents_trash_idx`);
    await queryRunner.query(`ALTER TABLE documents DROP COLUMN text_status`);
    await queryRunner.query(`DELETE FROM documents WHERE deleted_at IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE documents DROP COLUMN deleted_at`);
  }
}
