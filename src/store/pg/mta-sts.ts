/**
 * `store.mtaSts` (../backend.ts) on PostgreSQL: the `mta_sts_policies` table, one row per
 * domain. A put is an upsert (two nodes fetching the same policy at once: the later row stays,
 * both are the policy of that id); a purge deletes expired rows in bounded statements.
 */
import type pg from 'pg'
import type {CachedStsPolicy, MtaStsStore} from '../backend.js'
import {purgeBatches} from './purge.js'

interface PolicyRow {
  domain: string
  id: string
  policy: string
  fetched_at: string | number
  expires_at: string | number
}

export function pgMtaSts(pool: pg.Pool): MtaStsStore {
  return {
    async get(domain) {
      const {rows} = await pool.query<PolicyRow>('SELECT domain, id, policy, fetched_at, expires_at FROM mta_sts_policies WHERE domain = $1', [domain])
      const row = rows[0]
      return row && {domain: row.domain, id: row.id, text: row.policy, fetchedAt: Number(row.fetched_at), expiresAt: Number(row.expires_at)}
    },
    async put(p: CachedStsPolicy) {
      await pool.query(
        `INSERT INTO mta_sts_policies (domain, id, policy, fetched_at, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (domain) DO UPDATE SET id = EXCLUDED.id, policy = EXCLUDED.policy, fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at`,
        [p.domain, p.id, p.text, p.fetchedAt, p.expiresAt],
      )
    },
    purge: (now, limit = 1000) => purgeBatches(pool, 'mta_sts_policies', 'expires_at', now, limit),
  }
}
