/**
 * `store.settings` (../backend.ts) on PostgreSQL: the `settings` table, `secret/<name>` → bytes.
 * Making a secret is an INSERT … ON CONFLICT DO NOTHING: of two nodes inserting at once one row
 * wins, and the loser reads it back in a statement of its own (a new snapshot under READ
 * COMMITTED, which sees the winner's commit), so both return the same bytes.
 */
import type pg from 'pg'
import type {SettingsStore} from '../backend.js'
import {SECRET_BYTES} from '../lmdb-settings.js'

const rowName = (name: string) => `secret/${name}`

export function pgSettings(pool: pg.Pool): SettingsStore {
  const read = async (name: string): Promise<Buffer | undefined> =>
    (await pool.query<{value: Buffer}>('SELECT value FROM settings WHERE name = $1', [rowName(name)])).rows[0]?.value
  return {
    async secret(name) {
      const kept = await read(name)
      if (kept) return kept
      const fresh = (await import('node:crypto')).randomBytes(SECRET_BYTES)
      const {rows} = await pool.query<{value: Buffer}>('INSERT INTO settings (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING value', [
        rowName(name),
        fresh,
        Date.now(),
      ])
      return rows[0]?.value ?? (await read(name))!
    },
  }
}
