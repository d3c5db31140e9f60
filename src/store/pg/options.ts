/**
 * What a PostgreSQL store is opened with, its URL checked and described and its pool options,
 * without loading the PostgreSQL client: the config and every command use these whichever
 * backend they end up opening (./connect.ts opens the pool).
 */
import {MailboxError} from '../../errors.js'

export interface PgPoolOptions {
  /** connections this node opens at most (default 10) */
  poolSize?: number
  /** a statement running longer is cancelled by the server (default 30 s) */
  statementTimeoutMs?: number
  /**
   * a session that sits in an open transaction this long is ended by the server, releasing its
   * row locks: a node stalled mid-transaction must not hold a folder's UID counter forever (default 60 s)
   */
  idleInTransactionTimeoutMs?: number
  /** how long to wait for a connection (default 10 s) */
  connectTimeoutMs?: number
}

export const DEFAULT_POOL_OPTIONS: Required<PgPoolOptions> = {
  poolSize: 10,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
}

/**
 * The URL with its password (and any query) left out: what error messages and `status` may show.
 * Throws a clear `invalid` error for anything that is not a usable postgres:// URL.
 */
export function describeStoreUrl(url: string): string {
  const parsed = parseStoreUrl(url)
  const user = parsed.username ? `${parsed.username}@` : ''
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`
}

function parseStoreUrl(url: string): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new MailboxError('invalid', 'the store URL is not a URL: expected postgres://[user[:password]@]host[:port]/database')
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new MailboxError('invalid', `the store URL must start with postgres:// or postgresql://, not ${parsed.protocol}//`)
  }
  // libpq's form for a unix socket: postgres:///db?host=/run/postgresql
  if (!parsed.hostname && !parsed.searchParams.get('host')) throw new MailboxError('invalid', 'the store URL names no host: postgres://host[:port]/database')
  if (!/^\/[^/]+$/.test(parsed.pathname)) throw new MailboxError('invalid', 'the store URL names no database: postgres://host[:port]/database')
  return parsed
}
