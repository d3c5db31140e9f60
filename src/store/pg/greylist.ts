/**
 * `store.greylist` (../backend.ts) on PostgreSQL: `greylist` (one row per triplet),
 * `greylist_networks` (the networks that passed one) and `greylist_size` (one row: how many
 * triplets there are), shared by every node, with the rules of ../greylist-rules.ts.
 *
 * A known triplet's pass recorded within `refreshMs` is answered from one read. Any other check
 * is one transaction: the triplet's row is read `FOR UPDATE`, so two nodes seeing the
 * same triplet at once take turns and the second sees the first's write. A new triplet takes
 * the size row's lock to count itself in, and only while under `maxEntries`; two nodes inserting
 * the same new triplet at once both counted themselves, the one whose INSERT found the row takes
 * its count back and goes on as a sighting of that row. The size row serializes first sightings
 * only; retries and passes lock their own row alone.
 *
 * A purge deletes expired rows in batches (one transaction each), then sets the size row from a
 * count made while holding its lock: no first sighting can count itself in meanwhile, so any
 * drift (a crash cannot make one, but a manual DELETE can) is gone after each purge.
 */
import type pg from 'pg'
import type {GreylistStore} from '../backend.js'
import {boundedTriplet, greylistSighting, networkPassLive, passStandsWithoutWrite, type GreylistEntry, type GreylistTriplet} from '../greylist-rules.js'
import {transaction} from './connect.js'

interface GreylistRow {
  first_seen: string | number
  last_seen: string | number
  passed_at: string | number | null
  count: string | number
}

const entryOf = (row: GreylistRow): GreylistEntry => ({
  firstSeen: Number(row.first_seen),
  lastSeen: Number(row.last_seen),
  ...(row.passed_at !== null ? {passedAt: Number(row.passed_at)} : {}),
  count: Number(row.count),
})

const KEY = 'network = $1 AND sender = $2 AND recipient = $3'
const keyOf = (t: GreylistTriplet) => [t.network, t.sender, t.recipient]

export function pgGreylist(pool: pg.Pool): GreylistStore {
  return {
    async check(input, now, policy) {
      const t = boundedTriplet(input)
      if (t.sender === '') {
        const {rows} = await pool.query<{passed_at: string}>('SELECT passed_at FROM greylist_networks WHERE network = $1', [t.network])
        if (networkPassLive(rows[0] ? Number(rows[0].passed_at) : undefined, now, policy)) return {action: 'pass', reason: 'network'}
      }
      // a known correspondent's pass, recorded recently enough: one primary-key read, no transaction
      const seen = await pool.query<GreylistRow>(`SELECT first_seen, last_seen, passed_at, count FROM greylist WHERE ${KEY}`, keyOf(t))
      if (passStandsWithoutWrite(seen.rows[0] && entryOf(seen.rows[0]), now, policy)) return {action: 'pass', reason: 'passed'}
      return transaction(pool, async (client) => {
        for (;;) {
          const {rows} = await client.query<GreylistRow>(`SELECT first_seen, last_seen, passed_at, count FROM greylist WHERE ${KEY} FOR UPDATE`, keyOf(t))
          const stored = rows[0] ? entryOf(rows[0]) : undefined
          const {verdict, entry} = greylistSighting(stored, now, policy)
          const values = [...keyOf(t), entry.firstSeen, entry.lastSeen, entry.passedAt ?? null, entry.count]
          if (stored) {
            await client.query(`UPDATE greylist SET first_seen = $4, last_seen = $5, passed_at = $6, count = $7 WHERE ${KEY}`, values)
          } else {
            const counted = await client.query('UPDATE greylist_size SET entries = entries + 1 WHERE entries < $1 RETURNING entries', [policy.maxEntries])
            if (!counted.rowCount) return {action: 'pass', reason: 'full'} as const
            const inserted = await client.query(
              `INSERT INTO greylist (network, sender, recipient, first_seen, last_seen, passed_at, count) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT DO NOTHING`,
              values,
            )
            if (!inserted.rowCount) {
              // another node's first sighting of it committed after our SELECT: a sighting of that row
              await client.query('UPDATE greylist_size SET entries = entries - 1')
              continue
            }
          }
          if (verdict.action === 'pass') {
            await client.query(
              `INSERT INTO greylist_networks (network, passed_at) VALUES ($1, $2)
               ON CONFLICT (network) DO UPDATE SET passed_at = greatest(greylist_networks.passed_at, EXCLUDED.passed_at)`,
              [t.network, now],
            )
          }
          return verdict
        }
      })
    },

    async purge(now, policy, limit = 1000) {
      let removed = 0
      const batches: [string, unknown[]][] = [
        [
          `DELETE FROM greylist WHERE ctid IN (SELECT ctid FROM greylist
             WHERE (passed_at IS NOT NULL AND last_seen < $1) OR (passed_at IS NULL AND first_seen < $2) LIMIT $3)`,
          [now - policy.passTtlMs, now - policy.retryWindowMs, limit],
        ],
        ['DELETE FROM greylist_networks WHERE network IN (SELECT network FROM greylist_networks WHERE passed_at < $1 LIMIT $2)', [now - policy.passTtlMs, limit]],
      ]
      for (const [sql, params] of batches) {
        for (;;) {
          const n = (await pool.query(sql, params)).rowCount ?? 0
          removed += n
          if (n < limit) break
        }
      }
      await transaction(pool, async (client) => {
        await client.query('SELECT entries FROM greylist_size FOR UPDATE')
        await client.query('UPDATE greylist_size SET entries = (SELECT count(*) FROM greylist)')
      })
      return removed
    },

    async stats() {
      const {rows} = await pool.query<{entries: string; passed: string; networks: string}>(
        'SELECT (SELECT count(*) FROM greylist) AS entries, (SELECT count(passed_at) FROM greylist) AS passed, (SELECT count(*) FROM greylist_networks) AS networks',
      )
      const row = rows[0]!
      return {entries: Number(row.entries), passed: Number(row.passed), networks: Number(row.networks)}
    },
  }
}
