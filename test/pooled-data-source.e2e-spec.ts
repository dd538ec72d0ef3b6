import type { Pool } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { PooledDataSource } from '../src/database/pooled-data-source.js';
import { startTestApp, type TestApp } from './support/app.js';

/**
 * The application's queries outside a transaction go to the pg pool (PooledDataSource),
 * not through TypeORM's QueryRunner: they must answer and fail exactly as TypeORM's path
 * does (a transaction's queries still take it), on PostgreSQL and on the embedded database.
 */
describe('queries outside a transaction (PooledDataSource)', () => {
  let t: TestApp;
  let dataSource: DataSource;
  /** The same query through TypeORM's own path: a transaction's EntityManager. */
  const viaTypeorm = (sql: string, parameters?: unknown[]) =>
    dataSource.transaction((manager) => manager.query(sql, parameters));
  const pool = () => (dataSource.driver as PostgresDriver).master as Pool;

  beforeAll(async () => {
    t = await startTestApp();
    dataSource = t.app.get(DataSource);
    await dataSource.query('CREATE TABLE pooled_probe (id int PRIMARY KEY, v text NOT NULL)');
  });
  afterAll(() => t.close());

  it('is the data source the application runs on', () => {
    expect(dataSource).toBeInstanceOf(PooledDataSource);
  });

  it('answers what TypeORM answers: rows, [rows, count] for UPDATE and DELETE, nothing for several statements', async () => {
    expect(await dataSource.query('SELECT $1::int AS n, $2::text AS s', [7, 'x'])).toEqual([{ n: 7, s: 'x' }]);
    expect(await viaTypeorm('SELECT $1::int AS n, $2::text AS s', [7, 'x'])).toEqual([{ n: 7, s: 'x' }]);

    expect(await dataSource.query(`INSERT INTO pooled_probe VALUES (1, 'a'), (2, 'b') RETURNING id`)).toEqual([
      { id: 1 },
      { id: 2 },
    ]);
    expect(await viaTypeorm(`INSERT INTO pooled_probe VALUES (3, 'c') RETURNING id`)).toEqual([{ id: 3 }]);

    const update = `UPDATE pooled_probe SET v = v || '!' WHERE id = $1 RETURNING v`;
    expect(await dataSource.query(update, [1])).toEqual([[{ v: 'a!' }], 1]);
    expect(await viaTypeorm(update, [2])).toEqual([[{ v: 'b!' }], 1]);
    const remove = 'DELETE FROM pooled_probe WHERE id = $1';
    expect(await dataSource.query(remove, [1])).toEqual([[], 1]);
    expect(await viaTypeorm(remove, [2])).toEqual([[], 1]);
    expect(await dataSource.query(remove, [1])).toEqual([[], 0]);

    expect(await dataSource.query('SELECT 1; SELECT 2')).toBeUndefined();
    expect(await viaTypeorm('SELECT 1; SELECT 2')).toBeUndefined();
    expect(await dataSource.query('SELECT v FROM pooled_probe ORDER BY id')).toEqual([{ v: 'c' }]);
  });

  it('fails as TypeORM does, and keeps the connection after PostgreSQL refused a query', async () => {
    const duplicate = `INSERT INTO pooled_probe VALUES (3, 'again')`;
    const connections = pool().totalCount;
    const refused = await dataSource.query(duplicate).catch((error: unknown) => error);
    const refusedByTypeorm = await viaTypeorm(duplicate).catch((error: unknown) => error);
    for (const error of [refused, refusedByTypeorm]) {
      expect(error).toBeInstanceOf(QueryFailedError);
      expect(error).toMatchObject({ query: duplicate, driverError: { code: '23505' } });
    }
    expect(await dataSource.query('SELECT not_a_column FROM pooled_probe').catch((e: unknown) => e)).toMatchObject({
      driverError: { code: '42703' },
    });
    // The connection went back to the pool (a refused query does not end it), and works.
    expect(pool().totalCount).toBe(connections);
    expect(await dataSource.query('SELECT count(*)::int AS n FROM pooled_probe')).toEqual([{ n: 1 }]);
  });
});
