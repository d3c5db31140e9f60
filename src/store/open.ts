/**
 * The one opener of a store, whichever backend: `store` absent (the default) is the LMDB store in
 * the data dir, as ever; a `postgres://` URL is a PostgreSQL store shared by several nodes. Used
 * by `serve` (App.start) and by every command (BaseCommand).
 *
 */
import {resolve} from 'node:path'
import {MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {MailboxStore} from './backend.js'
import {describeStoreUrl, type PgPoolOptions} from './pg/options.js'
import type {PgStore} from './pg/store.js'
import {openStore} from './store.js'

export interface StoreChoice {
  dataDir: string
  /** absent: the LMDB store in `dataDir`; else a `postgres://` URL */
  store?: string | undefined
  pool?: PgPoolOptions
  /** PostgreSQL: the node whose queue leases this store takes (serve: config `nodeId`) */
  node?: string
  readOnly?: boolean
  /** LMDB: create the data dir and an empty store when there is none (else refuse) */
  create?: boolean
  log?: Logger
}

export async function openStoreBackend(choice: StoreChoice): Promise<MailboxStore> {
  if (choice.store === undefined) return openStore(resolve(choice.dataDir), {readOnly: choice.readOnly ?? false, create: choice.create ?? true})
  describeStoreUrl(choice.store) // a bad URL: one clear line, never the password
  // loaded only here: an LMDB command does not pay for the PostgreSQL client
  const {openPgStore} = await import('./pg/store.js')
  return openPgStore(choice.store, {...(choice.pool ? {pool: choice.pool} : {}), ...(choice.node ? {node: choice.node} : {}), readOnly: choice.readOnly ?? false, ...(choice.log ? {log: choice.log} : {})})
}

/** the refusal of a PostgreSQL URL by what sets up a data dir's LMDB store alone (`mailbox init`), in one line */
export function refuseStoreUrl(url: string, what: string, instead: string): never {
  throw new MailboxError('unavailable', `${what} sets up the LMDB store of a data dir; for the PostgreSQL store ${describeStoreUrl(url)}, ${instead}`)
}

export const isPgStore = (store: MailboxStore): store is PgStore => store.kind === 'postgres'
