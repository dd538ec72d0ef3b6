import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Usernames become unique regardless of case. */
export class UniqueUsernames1764340000000 implements MigrationInterface {
  name = 'UniqueUsernames1764340000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Accounts made before this migration may share a name in some casing: the
    // oldest keeps it, each later one gets a suffix from its id (still a valid
    // username of at most 32 characters), and can change it with PATCH /users/me.
    await queryRunner.query(`
      UPDATE users SET username = left(users.username, 23) || '-' || left(replace(users.id::text, '-', ''), 8)
      FROM (
        SELECT id, row_number() OVER (PARTITION BY lower(username) ORDER BY created_at, id) AS n FROM users
      ) ranked
      WHERE ranked.id = users.id AND ranked.n > 1`);
    await queryRunner.query(`CREATE UNIQUE INDEX users_username_key ON users (lower(username))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX users_username_key`);
  }
}
