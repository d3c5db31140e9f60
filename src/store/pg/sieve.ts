/**
 * `store.sieve` (../backend.ts) on PostgreSQL: `sieve_scripts` (one row per script, `active` on at
 * most one per user: a partial unique index) and `vacation_replies` (user, hash → until).
 *
 * `active()` is one query on that partial index, for every local recipient of a delivery.
 * A change to a user's scripts is one transaction that first locks the user's row `FOR NO KEY
 * UPDATE`: writers to one user's scripts take turns across nodes (the quota count and the one
 * active script stay true), a `user remove` (which locks the row `FOR UPDATE`) waits for them or
 * they find no user, and folder operations (`FOR KEY SHARE`) are not held up. Each such change
 * signals `sieve` to the other nodes at COMMIT.
 *
 * A vacation claim is one INSERT … ON CONFLICT DO UPDATE … WHERE the recorded period is over:
 * PostgreSQL locks the conflicting row, so of two claims at once exactly one inserts or updates.
 */
import type pg from 'pg'
import type {SieveScriptInfo, SieveStore} from '../backend.js'
import {activeSieveScript, checkSieveName, checkSieveQuota, noSieveScript, noSieveUser, sieveScriptExists, sieveSize} from '../sieve-rules.js'
import {signalledTransaction, type ChangeSignals} from './changes.js'
import {purgeBatches} from './purge.js'

interface ScriptRow {
  name: string
  active: boolean
  size: number
  updated_at: string | number
}

const infoOf = (row: ScriptRow): SieveScriptInfo => ({name: row.name, active: row.active, size: Number(row.size), updatedAt: Number(row.updated_at)})

export function pgSieve(pool: pg.Pool): SieveStore {
  /** a change to `user`'s scripts, the user's row locked (see above): `not-found` when there is no such user */
  const write = <T>(user: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    signalledTransaction(pool, async (client, signals: ChangeSignals) => {
      const {rowCount} = await client.query('SELECT 1 FROM users WHERE address = $1 FOR NO KEY UPDATE', [user])
      if (!rowCount) throw noSieveUser(user)
      const result = await fn(client)
      signals.sieve(user)
      return result
    })
  const exists = async (client: pg.ClientBase, user: string, name: string): Promise<{active: boolean} | undefined> =>
    (await client.query<{active: boolean}>('SELECT active FROM sieve_scripts WHERE user_address = $1 AND name = $2', [user, name])).rows[0]

  return {
    async list(user) {
      const {rows} = await pool.query<ScriptRow>(
        'SELECT name, active, octet_length(content) AS size, updated_at FROM sieve_scripts WHERE user_address = $1 ORDER BY name',
        [user],
      )
      return rows.map(infoOf)
    },

    async get(user, name) {
      const {rows} = await pool.query<{content: string; active: boolean}>('SELECT content, active FROM sieve_scripts WHERE user_address = $1 AND name = $2', [user, name])
      return rows[0] && {name, content: rows[0].content, active: rows[0].active}
    },

    async active(user) {
      const {rows} = await pool.query<{name: string; content: string}>('SELECT name, content FROM sieve_scripts WHERE user_address = $1 AND active', [user])
      return rows[0] && {name: rows[0].name, content: rows[0].content, active: true}
    },

    async put(user, name, content, quota) {
      checkSieveName(name)
      return write(user, async (client) => {
        const old = await exists(client, user, name)
        const count = old ? 0 : Number((await client.query('SELECT count(*) AS n FROM sieve_scripts WHERE user_address = $1', [user])).rows[0].n)
        checkSieveQuota(quota, count, old !== undefined, sieveSize(content))
        const {rows} = await client.query<ScriptRow>(
          `INSERT INTO sieve_scripts (user_address, name, content, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_address, name) DO UPDATE SET content = EXCLUDED.content, updated_at = EXCLUDED.updated_at
           RETURNING name, active, octet_length(content) AS size, updated_at`,
          [user, name, content, Date.now()],
        )
        return infoOf(rows[0]!)
      })
    },

    activate: (user, name) =>
      write(user, async (client) => {
        if (name !== null && !(await exists(client, user, name))) throw noSieveScript(user, name)
        // two statements: the unique index is checked row by row, so the old one goes off first
        await client.query('UPDATE sieve_scripts SET active = false WHERE user_address = $1 AND active', [user])
        if (name !== null) await client.query('UPDATE sieve_scripts SET active = true WHERE user_address = $1 AND name = $2', [user, name])
      }),

    remove: (user, name) =>
      write(user, async (client) => {
        const old = await exists(client, user, name)
        if (!old) throw noSieveScript(user, name)
        if (old.active) throw activeSieveScript(user, name)
        await client.query('DELETE FROM sieve_scripts WHERE user_address = $1 AND name = $2', [user, name])
      }),

    async rename(user, from, to) {
      checkSieveName(to)
      return write(user, async (client) => {
        if (!(await exists(client, user, from))) throw noSieveScript(user, from)
        if (await exists(client, user, to)) throw sieveScriptExists(user, to)
        await client.query('UPDATE sieve_scripts SET name = $3, updated_at = $4 WHERE user_address = $1 AND name = $2', [user, from, to, Date.now()])
      })
    },

    async claimVacationReply(user, hash, now, periodMs) {
      const {rowCount} = await pool.query(
        `INSERT INTO vacation_replies (user_address, hash, until) VALUES ($1, $2, $3)
         ON CONFLICT (user_address, hash) DO UPDATE SET until = EXCLUDED.until WHERE vacation_replies.until <= $4`,
        [user, hash, now + periodMs, now],
      )
      return rowCount === 1
    },

    purgeVacationReplies: (now, limit = 1000) => purgeBatches(pool, 'vacation_replies', 'until', now, limit),
  }
}

/** Removes a user's scripts and vacation records inside the caller's transaction (a removed user). */
export async function removeUserSieve(client: pg.ClientBase, user: string): Promise<void> {
  await client.query('DELETE FROM sieve_scripts WHERE user_address = $1', [user])
  await client.query('DELETE FROM vacation_replies WHERE user_address = $1', [user])
}
