/**
 * Removing expired rows in bounded statements (vacation replies, MTA-STS policies): each DELETE
 * takes at most `limit` rows whose `column` is at or before `now`, so no statement holds locks
 * on a whole table's worth of rows; repeated until one removes fewer.
 */
import type pg from 'pg'

/** how many rows went; `table` and `column` are this code's own names, never input */
export async function purgeBatches(pool: pg.Pool, table: string, column: string, now: number, limit: number): Promise<number> {
  let removed = 0
  for (;;) {
    const {rowCount} = await pool.query(`DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${column} <= $1 LIMIT $2)`, [now, limit])
    removed += rowCount ?? 0
    if ((rowCount ?? 0) < limit) return removed
  }
}
