/**
 * Schema version check and migrations, run on every open.
 *
 * `meta['schemaVersion']` says which layout the store has. A store written by a newer mailbox is
 * refused (this code would misread it); an older one is brought forward by the migrations below,
 * all inside one write transaction, so a crash mid-migration leaves the old version intact.
 */
import {MailboxError} from '../errors.js'
import {generateDkimKeys} from '../dkim/keys.js'
import {analyzeMessage} from '../mailstore/analyze.js'
import {dkimKeysOf, putDkimKeysInTxn} from './dkim-keys.js'
import type {Store} from './store.js'

export const SCHEMA_VERSION = 4

type Migration = (store: Store) => void

/** migrations[n] takes a store from version n to n + 1 */
const migrations: Migration[] = [
  // 0 → 1: the initial layout. Named databases are created by openDB; counters start here.
  (store) => {
    store.meta.putSync('lastUidValidity', 0)
    store.meta.putSync('lastMailboxId', 0)
    store.meta.putSync('createdAt', Date.now())
  },
  // 1 → 2: version 1 stored the MIME offsets of delivered mail as they were before Return-Path
  // was prepended; analyze every blob again from the bytes actually stored
  (store) => reanalyzeBlobs(store),
  // 2 → 3: outgoing mail is DKIM-signed; domains made before that get their keys now
  (store) => {
    const at = Date.now()
    for (const domain of [...store.domains.getKeys()] as string[]) {
      if (dkimKeysOf(store, domain).length === 0) putDkimKeysInTxn(store, generateDkimKeys(domain, at))
    }
  },
  // 3 → 4: subscriptions are names of their own (they outlive a deleted folder); the folders'
  // `subscribed` flags seed them. And the stored ENVELOPEs are made again by the RFC 5322
  // address parser (no made-up MISSING_DOMAIN, route addresses, quoted local parts).
  (store) => {
    for (const {value} of store.mailboxes.getRange({})) {
      if (value.subscribed) store.subscriptions.putSync([value.user, value.name], 1)
    }
    reanalyzeBlobs(store)
  },
]

/** analyzes every stored message again (what delivery stores of it: envelope, structure, summary) */
function reanalyzeBlobs(store: Store): void {
  for (const {key, value} of store.blobInfo.getRange({})) {
    const raw = store.blobs.get(key)
    if (!raw) continue
    const {envelope, structure, summary, crlfSize} = analyzeMessage(raw)
    store.blobInfo.putSync(key, {...value, envelope, structure, summary, crlfSize})
  }
}

export function migrate(store: Store): void {
  const current = (store.meta.get('schemaVersion') as number | undefined) ?? 0
  if (current > SCHEMA_VERSION) {
    throw new MailboxError(
      'schema',
      `the store in ${store.path} has schema version ${current}, newer than this mailbox understands (${SCHEMA_VERSION}); upgrade mailbox`,
    )
  }
  if (current === SCHEMA_VERSION) return
  if (store.readOnly) {
    throw new MailboxError('schema', `the store in ${store.path} needs migrating from version ${current}; open it read-write once (e.g. mailbox status)`)
  }
  store.transact(() => {
    // re-read inside the write lock: another process may have migrated meanwhile
    let version = (store.meta.get('schemaVersion') as number | undefined) ?? 0
    for (; version < SCHEMA_VERSION; version++) migrations[version]!(store)
    store.meta.putSync('schemaVersion', SCHEMA_VERSION)
  })
}

/** Next value of a counter kept in `meta`; call inside `store.transact`. */
export function nextCounter(store: Store, name: string, floor = 0): number {
  const next = Math.max(((store.meta.get(name) as number | undefined) ?? 0) + 1, floor)
  store.meta.putSync(name, next)
  return next
}
