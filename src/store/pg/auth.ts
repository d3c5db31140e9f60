/**
 * `store.auth` (../backend.ts) on PostgreSQL: the familiar addresses (../familiar-addresses.ts)
 * in the `familiar_addresses` table, shared by every node, so a device that logged in on node A
 * is familiar on node B at once (the next lookup reads the committed row; nothing is cached).
 *
 * A lookup is one primary-key query. Recording first asks the same (most logins find a recent
 * record and write nothing), then writes in one transaction that holds a per-user advisory lock:
 * two nodes recording new networks for one user at once would otherwise each prune without
 * seeing the other's row, and leave the user one record past `maxPerUser`.
 */
import type pg from 'pg'
import type {AuthStore} from '../backend.js'
import {stillFamiliar, worthRecording} from '../familiar-addresses.js'
import {pgLoginFailures} from './auth-failures.js'
import {transaction} from './connect.js'

/** first key of the per-user advisory lock (with `hashtext(user)` as the second): "fami" in ASCII */
const FAMILIAR_LOCK = 1717661033

export function pgAuth(pool: pg.Pool): AuthStore {
  const stored = async (user: string, network: string): Promise<number | undefined> => {
    const {rows} = await pool.query<{last_login: number}>('SELECT last_login FROM familiar_addresses WHERE user_address = $1 AND network = $2', [user, network])
    return rows[0]?.last_login
  }

  return {
    lastLoginFrom: async (user, network, now, maxAgeMs) => stillFamiliar(await stored(user, network), now, maxAgeMs),

    async rememberLogin(user, network, now, policy) {
      if (!worthRecording(await stored(user, network), now, policy)) return
      await transaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FAMILIAR_LOCK, user])
        // greatest(): a node whose clock or request lags must not move a newer success back
        await client.query(
          `INSERT INTO familiar_addresses (user_address, network, last_login) VALUES ($1, $2, $3)
           ON CONFLICT (user_address, network) DO UPDATE SET last_login = greatest(familiar_addresses.last_login, EXCLUDED.last_login)`,
          [user, network, now],
        )
        // the user's expired records, and those past the most recent maxPerUser (ties in network order, as LMDB's keys)
        await client.query(
          `DELETE FROM familiar_addresses WHERE user_address = $1 AND (last_login <= $2 OR network IN (
             SELECT network FROM familiar_addresses WHERE user_address = $1 ORDER BY last_login DESC, network OFFSET $3
           ))`,
          [user, now - policy.maxAgeMs, Math.max(0, policy.maxPerUser)],
        )
      })
    },

    async forgetLogins(user) {
      await pool.query('DELETE FROM familiar_addresses WHERE user_address = $1', [user])
    },

    failures: pgLoginFailures(pool),
  }
}
