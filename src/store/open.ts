/**
 * The one opener of a store, whichever backend: `store` absent (the default) is the LMDB store in
 * the data dir, as ever; a `postgres://` URL is a PostgreSQL store shared by several nodes. Used
 * by `serve` (App.start) and by every command (BaseCommand).
 *
 * Until the mail and the queue are behind `store.mail` and `store.queue` on PostgreSQL too, what
 * needs them asks for the LMDB store (`requireLmdb`): a PostgreSQL directory with mail in a node's
 * LMDB would split users from their mail.
 */
import {resolve} from 'node:path'
import {MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {MailboxStore} from './backend.js'
import {describeStoreUrl, type PgPoolOptions} from './pg/options.js'
import type {PgStore} from './pg/store.js'
import {openStore, type Store} from './store.js'

export interface StoreChoice {
  dataDir: string
  /** absent: the LMDB store in `dataDir`; else a `postgres://` URL */
  store?: string | undefined
  pool?: PgPoolOptions
  readOnly?: boolean
  /** LMDB: create the data dir and an empty store when there is none (else refuse) */
  create?: boolean
  log?: Logger
}

/** what the mail and queue need, not on PostgreSQL yet */
const MISSING_ON_PG = 'mail and queue are not on PostgreSQL yet'

export async function openStoreBackend(choice: StoreChoice): Promise<MailboxStore> {
  if (choice.store === undefined) return openStore(resolve(choice.dataDir), {readOnly: choice.readOnly ?? false, create: choice.create ?? true})
  describeStoreUrl(choice.store) // a bad URL: one clear line, never the password
  // loaded only here: an LMDB command does not pay for the PostgreSQL client
  const {openPgStore} = await import('./pg/store.js')
  return openPgStore(choice.store, {...(choice.pool ? {pool: choice.pool} : {}), readOnly: choice.readOnly ?? false, ...(choice.log ? {log: choice.log} : {})})
}

/** The LMDB store, or the refusal of `what` (a command, serve) on another backend, in one line. */
export function requireLmdb(store: MailboxStore, what: string): Store {
  if (store.kind === 'lmdb') return store as Store
  throw new MailboxError('unavailable', `${what} needs the LMDB store for now (${MISSING_ON_PG}); ${store.path} is a PostgreSQL store`)
}

/** the same refusal before anything is opened: a PostgreSQL URL given where only LMDB will do */
export function refuseStoreUrl(url: string, what: string): never {
  throw new MailboxError('unavailable', `${what} needs the LMDB store for now (${MISSING_ON_PG}); ${describeStoreUrl(url)} is a PostgreSQL store`)
}

export const isPgStore = (store: MailboxStore): store is PgStore => store.kind === 'postgres'
