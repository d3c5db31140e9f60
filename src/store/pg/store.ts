/**
 * A PostgreSQL store as `MailboxStore` (../backend.ts): the pool with its schema checked and
 * migrated (./open.ts), the directory and DKIM keys (./directory.ts), the auth records with the
 * shared login-failure counts (./auth.ts), the capture rules (./capture.ts), the mail (./mail.ts), the queue under this node's leases
 * (./queue.ts) and the change feed
 * (./changes.ts, its listen connection opened by the first subscriber). Several nodes open the
 * same URL; each holds one of these.
 *
 * `readOnly` is a promise of the caller (`status`, `user export`) not to write, not a database
 * setting: the role in the URL decides what the server allows.
 */
import {hostname} from 'node:os'
import type pg from 'pg'
import type {Logger} from '../../log.js'
import {silentLogger} from '../../log.js'
import type {MailboxStore} from '../backend.js'
import {pgAuth} from './auth.js'
import {pgCapture} from './capture.js'
import {PgChangeFeed} from './changes.js'
import {observeCommits, type PgPoolOptions} from './connect.js'
import {pgDirectory} from './directory.js'
import {pgLearn} from './learn.js'
import {pgGreylist} from './greylist.js'
import {pgMail} from './mail.js'
import {pgQueue} from './queue.js'
import {pgSieve} from './sieve.js'
import {withNfcNames} from '../sieve-rules.js'
import {openPgDatabase} from './open.js'
import {pgSettings} from './settings.js'
import {pgCerts} from './certs.js'
import {pgStats} from './stats.js'

export interface PgStore extends MailboxStore {
  readonly kind: 'postgres'
  /** for what is PostgreSQL's alone: the node registry (./nodes.ts), status */
  readonly pool: pg.Pool
}

export interface OpenPgStoreOptions {
  pool?: PgPoolOptions
  /** who holds this node's queue leases (config `nodeId`); commands that never claim take the default */
  node?: string
  readOnly?: boolean
  log?: Logger
}

export async function openPgStore(url: string, options: OpenPgStoreOptions = {}): Promise<PgStore> {
  const log = options.log ?? silentLogger
  const opened = await openPgDatabase(url, options.pool, (err) => log.warn({err, store: opened.where}, 'the store server dropped an idle connection'))
  const directoryBackend = pgDirectory(opened.pool)
  const {directory, dkim} = directoryBackend
  const changes = new PgChangeFeed(url, log)
  return {
    kind: 'postgres',
    path: opened.where,
    readOnly: options.readOnly ?? false,
    pool: opened.pool,
    directory,
    dkim,
    auth: pgAuth(opened.pool),
    capture: pgCapture(opened.pool),
    mail: pgMail(opened.pool, directoryBackend),
    queue: pgQueue(opened.pool, options.node ?? `${hostname()}/${process.pid}`),
    learn: pgLearn(opened.pool),
    greylist: pgGreylist(opened.pool),
    sieve: withNfcNames(pgSieve(opened.pool)),
    settings: pgSettings(opened.pool),
    certs: pgCerts(opened.pool),
    changes,
    stats: () => pgStats(opened.pool),
    observeCommits: (observer) => observeCommits(opened.pool, observer),
    async close() {
      await changes.close()
      await opened.close()
    },
  }
}
