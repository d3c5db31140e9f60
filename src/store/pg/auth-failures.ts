/**
 * The login throttle's failure counts shared by every node (the `auth_failures` table), so a
 * guess on node A counts on node B. The semantics are src/auth/throttle.ts's three sliding
 * windows, keyed the same way:
 *
 * - `address`: the source network (`networkOf`); each failure remembers whose login it was, so a
 *   success forgives that user's own failures from there and no one else's;
 * - `user-address`: (user, source); a success deletes it;
 * - `user`: failures for a user from sources unfamiliar for that user.
 *
 * A row is a key's latest failure times (epoch ms by the database's clock, oldest first), cut at
 * recording to the window and to the scope's limit (more would not change a decision), so a key
 * never holds more than its limit. Recording is one upsert of the 2 or 3 keys: concurrent
 * failures on one key from several nodes serialize on its row and none is lost. The table's
 * size is bounded by `pruneAuthFailures` (expired keys, then the least recently failed past
 * `maxKeys`), as the in-memory maps drop their least recently failed key.
 *
 * Only counts are shared: admitting an attempt, its pending state and the delays stay in each
 * node's LoginThrottle.
 */
import type pg from 'pg'
import type {FailureCounts, FailureLimits, FailureStats, LoginFailureStore} from '../backend.js'
import {transaction} from './connect.js'

export type {FailureCounts, FailureLimits}

/** keys the table keeps at most, over all scopes (the in-memory throttle keeps 100 000 per scope) */
export const DEFAULT_MAX_FAILURE_KEYS = 300_000

/** a space never occurs in a source network, so the pair key splits unambiguously (NUL, the throttle's separator, cannot be stored in text) */
export const pairKey = (source: string, user: string) => `${source} ${user}`

/** the database's clock in epoch ms, as SQL */
const NOW_MS = `(extract(epoch FROM now()) * 1000)::bigint`

/**
 * Counts a failed login of `user` from `source` (a network as `networkOf` gives it); `familiar`:
 * whether the source is familiar for the user (then the user's own count is left alone).
 */
export async function recordFailure(pool: pg.Pool | pg.ClientBase, source: string, user: string, familiar: boolean, limits: FailureLimits): Promise<void> {
  await pool.query(
    `INSERT INTO auth_failures AS f (scope, key, failures, users, last_failure)
     SELECT v.scope, v.key, ARRAY[${NOW_MS}], CASE WHEN v.scope = 'address' THEN ARRAY[$3::text] END, ${NOW_MS}
       FROM (VALUES ('address', $1::text), ('user-address', $2::text), ('user', $3::text)) AS v (scope, key)
      WHERE v.scope <> 'user' OR NOT $4::boolean
     ON CONFLICT (scope, key) DO UPDATE SET (failures, users, last_failure) = (
       SELECT array_agg(t ORDER BY i), CASE WHEN f.scope = 'address' THEN array_agg(coalesce(u, '') ORDER BY i) END, EXCLUDED.last_failure
         FROM (
           SELECT t, u, i FROM unnest(f.failures || EXCLUDED.failures, coalesce(f.users, '{}') || coalesce(EXCLUDED.users, '{}')) WITH ORDINALITY AS x (t, u, i)
            WHERE t > EXCLUDED.last_failure - $5
            ORDER BY i DESC
            LIMIT CASE f.scope WHEN 'address' THEN $6::int WHEN 'user-address' THEN $7::int ELSE $8::int END
         ) AS kept
     )`,
    [source, pairKey(source, user), user, familiar, limits.windowMs, Math.max(1, limits.maxFailuresPerAddress), Math.max(1, limits.maxFailuresPerUserAddress), Math.max(1, limits.maxFailuresPerUser)],
  )
}

/** The three counts an attempt of `user` from `source` is judged by, within the window. */
export async function failureCounts(pool: pg.Pool | pg.ClientBase, source: string, user: string, windowMs: number): Promise<FailureCounts> {
  const {rows} = await pool.query<{scope: string; n: number}>(
    `SELECT scope, (SELECT count(*) FROM unnest(failures) AS t WHERE t > ${NOW_MS} - $4)::int AS n
       FROM auth_failures
      WHERE (scope, key) IN (('address', $1::text), ('user-address', $2::text), ('user', $3::text))`,
    [source, pairKey(source, user), user, windowMs],
  )
  const n = (scope: string) => rows.find((r) => r.scope === scope)?.n ?? 0
  return {address: n('address'), userAddress: n('user-address'), user: n('user')}
}

/**
 * The password was right: `user`'s earlier failures from `source` no longer count (the pair's
 * key, and the user's entries in the source's list); other users' failures from there stay.
 */
export async function forgiveFailures(pool: pg.Pool, source: string, user: string): Promise<void> {
  // the source's row first, then the pair's: the order recordFailure locks them in (no deadlock between the two)
  await transaction(pool, async (client) => {
    const {rows} = await client.query<{remaining: number}>(
      `UPDATE auth_failures SET (failures, users) = (
         SELECT coalesce(array_agg(t ORDER BY i), '{}'), coalesce(array_agg(u ORDER BY i), '{}')
           FROM unnest(failures, users) WITH ORDINALITY AS x (t, u, i) WHERE u <> $2
       )
       WHERE scope = 'address' AND key = $1 AND $2 = ANY (users)
       RETURNING cardinality(failures) AS remaining`,
      [source, user],
    )
    if (rows[0]?.remaining === 0) await client.query("DELETE FROM auth_failures WHERE scope = 'address' AND key = $1 AND cardinality(failures) = 0", [source])
    await client.query("DELETE FROM auth_failures WHERE scope = 'user-address' AND key = $1", [pairKey(source, user)])
  })
}

export interface SourceFailures {
  source: string
  failures: number
}

/**
 * The sources with the most failures in the window, over all nodes (at most `limit`), and how
 * many sources have any: what `status` and the dashboard show of the throttle.
 */
export async function topFailureSources(pool: pg.Pool, windowMs: number, limit = 10): Promise<{sources: number; top: SourceFailures[]}> {
  const {rows} = await pool.query<SourceFailures & {sources: number}>(
    `SELECT key AS source, n AS failures, count(*) OVER ()::int AS sources
       FROM (SELECT key, (SELECT count(*) FROM unnest(failures) AS t WHERE t > ${NOW_MS} - $1)::int AS n
               FROM auth_failures WHERE scope = 'address' AND last_failure > ${NOW_MS} - $1) AS live
      WHERE n > 0
      ORDER BY n DESC, key LIMIT $2`,
    [windowMs, limit],
  )
  return {sources: rows[0]?.sources ?? 0, top: rows.map(({source, failures}) => ({source, failures}))}
}

/**
 * Bounds the table: deletes keys whose last failure left the window, then the least recently
 * failed keys past `maxKeys`. Returns how many keys went. Run it every so often (a minute) from
 * one timer per node; concurrent runs on several nodes are harmless.
 */
export async function pruneAuthFailures(pool: pg.Pool, windowMs: number, maxKeys = DEFAULT_MAX_FAILURE_KEYS): Promise<number> {
  const expired = await pool.query(`DELETE FROM auth_failures WHERE last_failure <= ${NOW_MS} - $1`, [windowMs])
  const excess = await pool.query(
    `DELETE FROM auth_failures WHERE (scope, key) IN (
       SELECT scope, key FROM auth_failures ORDER BY last_failure DESC OFFSET $1
     )`,
    [maxKeys],
  )
  return (expired.rowCount ?? 0) + (excess.rowCount ?? 0)
}

/**
 * The throttle over every node, for `status`: failures in the window, sources with any, keys at
 * their scope's limit, and the `top` sources. One query over the live rows.
 */
export async function failureStats(pool: pg.Pool, limits: FailureLimits, top = 10): Promise<FailureStats> {
  const {rows} = await pool.query<{scope: string; keys: number; failures: number; at_limit: number}>(
    `SELECT scope, count(*)::int AS keys, sum(n)::int AS failures,
            count(*) FILTER (WHERE n >= CASE scope WHEN 'address' THEN $2::int WHEN 'user-address' THEN $3::int ELSE $4::int END)::int AS at_limit
       FROM (SELECT scope, (SELECT count(*) FROM unnest(failures) AS t WHERE t > ${NOW_MS} - $1) AS n
               FROM auth_failures WHERE last_failure > ${NOW_MS} - $1) AS live
      WHERE n > 0
      GROUP BY scope`,
    [limits.windowMs, limits.maxFailuresPerAddress, limits.maxFailuresPerUserAddress, limits.maxFailuresPerUser],
  )
  const of = (scope: string) => rows.find((r) => r.scope === scope) ?? {keys: 0, failures: 0, at_limit: 0}
  const sources = top > 0 ? (await topFailureSources(pool, limits.windowMs, top)).top : []
  return {
    failures: of('address').failures,
    addresses: of('address').keys,
    blockedAddresses: of('address').at_limit,
    blockedPairs: of('user-address').at_limit,
    lockedUsers: of('user').at_limit,
    top: sources,
  }
}

/** `store.auth.failures` (../backend.ts) over this table. */
export function pgLoginFailures(pool: pg.Pool, maxKeys = DEFAULT_MAX_FAILURE_KEYS): LoginFailureStore {
  return {
    record: (source, user, familiar, limits) => recordFailure(pool, source, user, familiar, limits),
    counts: (source, user, windowMs) => failureCounts(pool, source, user, windowMs),
    forgive: (source, user) => forgiveFailures(pool, source, user),
    stats: (limits, top) => failureStats(pool, limits, top),
    prune: (windowMs) => pruneAuthFailures(pool, windowMs, maxKeys),
  }
}
