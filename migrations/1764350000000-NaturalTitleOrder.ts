import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Titles sort in natural, case-insensitive order ("doc 2" before "doc 10", "apple" before "Banana"). */
export class NaturalTitleOrder1764350000000 implements MigrationInterface {
  name = 'NaturalTitleOrder1764350000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // ICU, present in both PostgreSQL and PGlite: numbers compare by value,
    // letters ignore case (secondary strength). Written with ICU keywords:
    // PGlite ignores the BCP 47 form (und-u-kn-ks-level2). Deterministic, so
    // titles equal but for case still have one order, which keyset cursors rely on.
    await queryRunner.query(
      `CREATE COLLATION title_order (provider = icu, locale = 'und@colNumeric=yes;colStrength=secondary', deterministic = true)`,
    );
    await queryRunner.query(`DROP INDEX documents_owner_title_idx`);
    await queryRunner.query(
      `CREATE INDEX documents_owner_title_idx ON documents (owner_id, (title COLLATE title_order), id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX documents_owner_title_idx`);
    await queryRunner.query(`CREATE INDEX documents_owner_title_idx ON documents (owner_id, title, id)`);
    await queryRunner.query(`DROP COLLATION title_order`);
  }
}
