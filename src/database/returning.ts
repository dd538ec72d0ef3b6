/**
 * The rows of an `UPDATE`/`DELETE ... RETURNING` run through `DataSource.query`:
 * TypeORM answers those with `[rows, affectedCount]` (and an `INSERT` with the rows).
 */
export function returningRows<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}
