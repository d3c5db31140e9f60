/**
 * The connection to a PostgreSQL store: a `pg.Pool` from a `postgres://` URL, and `transaction()`,
 * the one way a durable change is made (BEGIN … COMMIT, ROLLBACK on error, retried when
 * PostgreSQL aborted it for a serialization failure or a deadlock).
 *
 * Durability: a change is acknowledged only after COMMIT returns, and COMMIT returns after the
 * WAL is flushed only with `synchronous_commit` on (or remote_write/remote_apply, which also
 * wait for standbys). A server whose default is `off` would acknowledge mail it can still lose, so
 * every connection of ours that finds it off turns it on for its session. (`fsync = off` on the
 * server cannot be fixed from a session; `durabilityOf()` reports it.)
 */
import pg from 'pg'
import {MailboxError} from '../../errors.js'
import type {CommitObserver} from '../backend.js'
import {DEFAULT_POOL_OPTIONS, describeStoreUrl, type PgPoolOptions} from './options.js'

/** a transaction aborted for one of these may simply run again */
const RETRYABLE = new Set(['40001' /* serialization_failure */, '40P01' /* deadlock_detected */])
/** how often a retryable abort is retried before it is reported */
export const TRANSACTION_ATTEMPTS = 5

export {DEFAULT_POOL_OPTIONS, describeStoreUrl, type PgPoolOptions}

/**
 * bigint columns (ids, UIDs, MODSEQs, sizes, epoch-ms times) as numbers: all stay far below 2^53.
 * (Arrays of bigint keep pg's default, strings.)
 */
function numericTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides()
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value))
  return types
}

export interface PgStorePool {
  readonly pool: pg.Pool
  /** the URL without its password */
  readonly where: string
  close(): Promise<void>
}

/**
 * A pool for the store at `url`. Connecting is lazy: the first query (the schema check at open)
 * finds out whether the server is there. `onIdleError` hears about an idle connection the server
 * dropped (pg.Pool emits that as an event; without a listener it would end the process).
 */
export function openPool(url: string, options: PgPoolOptions = {}, onIdleError: (err: Error) => void = () => {}): PgStorePool {
  const where = describeStoreUrl(url)
  const o = {...DEFAULT_POOL_OPTIONS, ...options}
  if (!Number.isInteger(o.poolSize) || o.poolSize < 1) throw new MailboxError('invalid', `the store pool size must be a whole number of at least 1, not ${o.poolSize}`)
  const pool = new pg.Pool({
    connectionString: url,
    max: o.poolSize,
    statement_timeout: o.statementTimeoutMs,
    idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs,
    connectionTimeoutMillis: o.connectTimeoutMs,
    application_name: 'mailbox',
    types: numericTypes(),
    // awaited by pg-pool before the connection serves any query
    onConnect: async (client: pg.ClientBase) => {
      await client.query("SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'")
    },
  })
  pool.on('error', onIdleError)
  return {pool, where, close: () => pool.end()}
}

/** per pool: who hears of each transaction's commit (serve's metrics; see MailboxStore.observeCommits) */
const commitObservers = new WeakMap<pg.Pool, CommitObserver>()

export function observeCommits(pool: pg.Pool, observer: CommitObserver): () => void {
  commitObservers.set(pool, observer)
  return () => void (commitObservers.get(pool) === observer && commitObservers.delete(pool))
}

export type Isolation = 'read committed' | 'repeatable read' | 'serializable'

export interface TransactionOptions {
  isolation?: Isolation
  /** attempts for a transaction PostgreSQL aborted as retryable (default TRANSACTION_ATTEMPTS) */
  attempts?: number
}

const isRetryable = (err: unknown): boolean => RETRYABLE.has((err as {code?: string}).code ?? '')

/**
 * Runs `fn` inside BEGIN … COMMIT on one pooled connection, and resolves once COMMIT has
 * returned (durable, see above). An error rolls back and rejects; a serialization failure or a
 * deadlock (a definite abort: nothing was written) runs `fn` again after a short random pause,
 * up to `attempts` times, so `fn` must do nothing outside the database that it cannot repeat.
 * A failed COMMIT for any other reason (a lost connection) is NOT retried: its outcome is unknown.
 */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const attempts = options.attempts ?? TRANSACTION_ATTEMPTS
  const begin = options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}` : 'BEGIN'
  const observer = commitObservers.get(pool)
  const started = observer ? performance.now() : 0
  const seconds = () => (performance.now() - started) / 1000
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect()
    let broken: Error | undefined
    try {
      await client.query(begin)
      const result = await fn(client)
      try {
        await client.query('COMMIT')
      } catch (err) {
        // a serialization failure at COMMIT is an abort that runs again, not a failed commit
        if (!isRetryable(err)) observer?.(seconds(), err as Error)
        throw err
      }
      observer?.(seconds())
      return result
    } catch (err) {
      try {
        await client.query('ROLLBACK')
      } catch (rollbackErr) {
        // the connection is gone (or in no state to reuse): the pool must not hand it out again
        broken = rollbackErr as Error
      }
      if (attempt >= attempts || !isRetryable(err)) throw err
    } finally {
      client.release(broken)
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt))
  }
}

/** How durable a commit on this server is, as the store's sessions see it. */
export async function durabilityOf(pool: pg.Pool): Promise<{synchronousCommit: string; fsync: string}> {
  const {rows} = await pool.query("SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync")
  return {synchronousCommit: rows[0].sc, fsync: rows[0].fsync}
}
