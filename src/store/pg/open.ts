/**
 * Opening a PostgreSQL store: the pool, then the schema check and migrations (see schema.ts).
 * A database newer than this code, or a server that cannot be reached, is an error here and
 * leaves no pool open.
 */
import {MailboxError} from '../../errors.js'
import {openPool, type PgPoolOptions, type PgStorePool} from './connect.js'
import {migrate} from './schema.js'

export async function openPgDatabase(url: string, options: PgPoolOptions = {}, onIdleError?: (err: Error) => void): Promise<PgStorePool> {
  const store = openPool(url, options, onIdleError)
  try {
    await migrate(store.pool, store.where)
  } catch (err) {
    await store.close()
    if (err instanceof MailboxError) throw err
    throw new MailboxError('unavailable', `cannot open the PostgreSQL store ${store.where}: ${(err as Error).message}`)
  }
  return store
}
