/**
 * What end-to-end tests read and write in a data dir's store besides the real binary, through the
 * store interface (openStoreBackend), so they work on the backend the run uses (./backend.ts).
 */
import {addDomain} from '../../src/directory/domains.js'
import {addUser} from '../../src/directory/users.js'
import {parseSize} from '../../src/size.js'
import type {MailboxStore} from '../../src/store/backend.js'
import {openStoreBackend} from '../../src/store/open.js'
import type {StoreDigest} from '../../src/store/transfer.js'
import {storeUrlOf} from './backend.js'

// The store copy and digests (PostgreSQL runs only) are imported when used: every e2e file that
// sets up users imports this module, and each isolated file evaluates its whole graph again

/** Opens the data dir's store, whichever backend this run uses (the data dir's LMDB store must exist). */
export async function openTestStore(dataDir: string, options: {readOnly?: boolean} = {}): Promise<MailboxStore> {
  return openStoreBackend({dataDir, store: await storeUrlOf(dataDir), readOnly: options.readOnly ?? false, create: false, pool: {poolSize: 2}})
}

/**
 * `domain add` for each domain, then `user add` for each user, through the functions those
 * commands run (src/directory), in this process: set-up for tests whose subject is something
 * else (a command spawn costs ~0.3 s of CPU, and the suite did hundreds). The commands
 * themselves: test/e2e/cli-domain-user.test.ts, and on PostgreSQL test/e2e/cli-pg-store.test.ts.
 * Makes the data dir and its store when there are none, as `domain add` does.
 */
export async function addDomainsAndUsers(dataDir: string, domains: string[], users: {address: string; password?: string; quota?: string}[]): Promise<void> {
  const store = await openStoreBackend({dataDir, store: await storeUrlOf(dataDir), readOnly: false, create: true, pool: {poolSize: 2}})
  try {
    for (const domain of domains) await addDomain(store, domain)
    for (const u of users) await addUser(store, {address: u.address, password: u.password ?? 'pw', quota: parseSize(u.quota ?? '0')})
  } finally {
    await store.close()
  }
}

/** Opens the data dir's store, runs `fn`, and always closes it again. */
export async function withTestStore<T>(dataDir: string, fn: (store: MailboxStore) => T | Promise<T>, options: {readOnly?: boolean} = {}): Promise<T> {
  const store = await openTestStore(dataDir, options)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** A digest of every record of the PostgreSQL store at `url` (`store verify`'s, src/store/transfer.ts). */
export async function pgDigest(url: string): Promise<StoreDigest> {
  const [{openPgDatabase}, {pgSource}, {digestOf}] = await Promise.all([import('../../src/store/pg/open.js'), import('../../src/store/pg/transfer.js'), import('../../src/store/transfer.js')])
  const db = await openPgDatabase(url, {poolSize: 2})
  try {
    const source = await pgSource(db.pool, 'pg')
    try {
      return await digestOf(source)
    } finally {
      await source.close()
    }
  } finally {
    await db.close()
  }
}

/** On PostgreSQL: the digest of the data dir's store; equal digests mean nothing was written. */
export async function storeDigest(dataDir: string): Promise<StoreDigest> {
  const url = await storeUrlOf(dataDir)
  if (!url) throw new Error('storeDigest reads a PostgreSQL store: on LMDB compare the databases (fixtures.ts snapshot)')
  return pgDigest(url)
}

/** On PostgreSQL: copies the (idle) store of `template` into the fresh one of `dataDir` (`store copy`). */
export async function cloneStore(template: string, dataDir: string): Promise<void> {
  const [from, to] = await Promise.all([storeUrlOf(template), storeUrlOf(dataDir)])
  if (!from || !to) return
  const {copyStore} = await import('../../src/store/copy.js')
  const copied = await copyStore({type: 'pg', url: from}, {type: 'pg', url: to})
  if (!copied.verify?.equal) throw new Error(`the copy of ${template}'s store differs: ${JSON.stringify(copied.verify?.difference)}`)
}
