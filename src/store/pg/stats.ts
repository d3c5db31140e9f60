/**
 * A PostgreSQL store's size for monitoring (`store.stats()`): the size of its database on disk.
 * PostgreSQL reuses the space of deleted rows through VACUUM's free space map, which needs the
 * pg_freespacemap extension to read, so free pages are not reported (LMDB reports them).
 */
import type pg from 'pg'
import type {StoreStats} from '../backend.js'

export async function pgStats(pool: pg.Pool): Promise<StoreStats> {
  const {rows} = await pool.query<{size: number}>('SELECT pg_database_size(current_database()) AS size')
  return {sizeBytes: rows[0]!.size}
}
