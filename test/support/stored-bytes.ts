import type { DataSource } from 'typeorm';

/** Where a document's versions keep their bytes (the postgres driver: chunk rows). */
export async function storageKeys(db: DataSource, id: string): Promise<string[]> {
  const rows: Array<{ key: string }> = await db.query(
    'SELECT storage_key AS key FROM document_versions WHERE document_id = $1',
    [id],
  );
  return rows.map((row) => row.key);
}

/** How many postgres chunk rows these objects still have. */
export async function chunkCount(db: DataSource, keys: string[]): Promise<number> {
  const [{ n }] = await db.query('SELECT count(*)::int AS n FROM storage_chunks WHERE object_key = ANY($1::uuid[])', [
    keys,
  ]);
  return n;
}
