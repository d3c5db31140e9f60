/**
 * `store copy` on LMDB (see ./transfer.ts): the export reads the raw databases in one read
 * transaction (one snapshot, however long the copy takes; writers meanwhile do not disturb it),
 * the import writes batches in async commits (the fsync off the main thread), the counters last.
 */
import {acmeAccountKey, acmeAccountsRange, certificateKey, certificatesRange, deliveryLogKey, dkimKeyKey, familiarAddressKey, mailboxKey, messageKey, queueIndexKey, secretKey, sieveScriptKey, subscriptionKey} from './keys.js'
import type {Store} from './store.js'
import type {AcmeAccount, StoredCertificate} from '../certs/types.js'
import {
  commitBatches,
  type Kind,
  missingBytesError,
  notEmptyError,
  type PlacesOf,
  shape,
  totalsOf,
  type TransferRecord,
  type TransferSource,
  type TransferTarget,
} from './transfer.js'

/** the databases holding each kind of record (the first one is counted) */
function databasesOf(store: Store): PlacesOf<{getCount(o?: object): number}> {
  return {
    domain: [store.domains],
    dkimKey: [store.dkimKeys],
    user: [store.users],
    alias: [store.aliases],
    folder: [store.mailboxes],
    subscription: [store.subscriptions],
    blob: [store.blobInfo, store.blobs, store.blobText],
    message: [store.messages],
    queueEntry: [store.queueEntries, store.queueIndex],
    deliveryAttempt: [store.deliveryLog],
    captureRule: [store.captureRules],
    familiarAddress: [store.familiarAddresses],
    // a read-only store written before Sieve has no such database: none to count
    sieveScript: [store.sieveScripts ?? {getCount: () => 0}],
    // a store written before the database has none: nothing to count or to find taken
    secret: store.settingsDb ? [store.settingsDb] : [],
    certificate: store.certsDb ? [{getCount: (o?: object) => store.certsDb!.getCount({...o, ...certificatesRange})}] : [],
    acmeAccount: store.certsDb ? [{getCount: (o?: object) => store.certsDb!.getCount({...o, ...acmeAccountsRange})}] : [],
  }
}

const counter = (value: unknown): number => (typeof value === 'number' ? value : 0)

/** A snapshot of the store for export; `close()` ends its read transaction. */
export function lmdbSource(store: Store, where: string): TransferSource {
  const txn = store.env.useReadTransaction()
  // a new options object per call: lmdb-js writes into the one it is given (getCount marks it count-only)
  const read = () => ({transaction: txn})
  let closed = false

  return {
    where,
    totals: () =>
      totalsOf(
        databasesOf(store),
        (db) => db.getCount(read()),
        () => {
          let bytes = 0
          for (const {value} of store.blobInfo.getRange(read())) bytes += value.size
          return bytes
        },
      ),

    async *records(): AsyncGenerator<TransferRecord> {
      const now = Date.now()
      const meta = {
        lastUidValidity: counter(store.meta.get('lastUidValidity', read())),
        lastFolderId: counter(store.meta.get('lastMailboxId', read())),
        createdAt: counter(store.meta.get('createdAt', read())),
      }
      yield {kind: 'meta', value: meta}
      for (const {value} of store.domains.getRange(read())) yield {kind: 'domain', value: shape.domain(value)}
      for (const {value} of store.dkimKeys.getRange(read())) yield {kind: 'dkimKey', value: shape.dkimKey(value)}
      for (const {value} of store.users.getRange(read())) yield {kind: 'user', value: shape.user(value)}
      for (const {value} of store.aliases.getRange(read())) yield {kind: 'alias', value: shape.alias(value)}
      for (const {value} of store.mailboxes.getRange(read())) yield {kind: 'folder', value: shape.folder(value)}
      for (const key of store.subscriptions.getKeys(read())) yield {kind: 'subscription', value: {user: key[0], name: key[1]}}
      for (const {key, value} of store.blobInfo.getRange(read())) {
        const bytes = store.blobs.get(key, read())
        if (!bytes) throw missingBytesError(where, key)
        const text = store.blobText.get(key, read())
        yield {kind: 'blob', value: {id: key, bytes, info: shape.blobInfo(value), ...(text !== undefined ? {text} : {})}}
      }
      for (const {key, value} of store.messages.getRange(read())) yield {kind: 'message', value: shape.message(key[0], value)}
      for (const {value} of store.queueEntries.getRange(read())) yield {kind: 'queueEntry', value: shape.queueEntry(value, now)}
      // attempts of an entry that is gone have nothing to belong to (PostgreSQL's log has a foreign key)
      for (const {value} of store.deliveryLog.getRange(read())) {
        if (store.queueEntries.get(value.queueId, read()) !== undefined) yield {kind: 'deliveryAttempt', value: shape.deliveryAttempt(value)}
      }
      for (const {value} of store.captureRules.getRange(read())) yield {kind: 'captureRule', value: shape.captureRule(value)}
      for (const {key, value} of store.familiarAddresses.getRange(read())) {
        yield {kind: 'familiarAddress', value: {user: key[0], network: key[1], lastLogin: value}}
      }
      if (store.sieveScripts) {
        // each user's active name, read once at their first script
        let user: string | undefined
        let active: string | undefined
        for (const {key, value} of store.sieveScripts.getRange(read())) {
          const [owner, name] = key
          if (owner !== user) active = store.sieveActive?.get((user = owner), read())
          yield {kind: 'sieveScript', value: shape.sieveScript({user: owner, name, content: value.content, active: name === active, updatedAt: value.updatedAt})}
        }
      }
      for (const {key, value} of store.settingsDb?.getRange(read()) ?? []) {
        if (key[0] === 'secret') yield {kind: 'secret', value: {name: key[1], value: Buffer.from(value).toString('base64')}}
      }
      for (const {value} of store.certsDb?.getRange({...read(), ...certificatesRange}) ?? []) yield {kind: 'certificate', value: shape.certificate(value as StoredCertificate)}
      for (const {value} of store.certsDb?.getRange({...read(), ...acmeAccountsRange}) ?? []) yield {kind: 'acmeAccount', value: shape.acmeAccount(value as AcmeAccount)}
    },

    async close() {
      if (closed) return
      closed = true
      txn.done()
    },
  }
}

/** Writes one record inside the caller's write transaction. */
function put(store: Store, r: TransferRecord): void {
  switch (r.kind) {
    case 'meta':
      return // the counters are set after everything else
    case 'domain':
      return void store.domains.putSync(r.value.name, r.value)
    case 'dkimKey':
      return void store.dkimKeys.putSync(dkimKeyKey(r.value.domain, r.value.selector), r.value)
    case 'user':
      return void store.users.putSync(r.value.address, r.value)
    case 'alias':
      return void store.aliases.putSync(r.value.alias, r.value)
    case 'folder':
      return void store.mailboxes.putSync(mailboxKey(r.value.user, r.value.name), r.value)
    case 'subscription':
      return void store.subscriptions.putSync(subscriptionKey(r.value.user, r.value.name), 1)
    case 'blob': {
      const {id, bytes, info, text} = r.value
      store.blobs.putSync(id, bytes)
      store.blobInfo.putSync(id, info)
      if (text !== undefined) store.blobText.putSync(id, text)
      return
    }
    case 'message': {
      const {folderId, ...message} = r.value
      return void store.messages.putSync(messageKey(folderId, message.uid), message)
    }
    case 'queueEntry': {
      const e = r.value
      store.queueEntries.putSync(e.id, e)
      store.queueIndex.putSync(queueIndexKey(e.state, e.priority, e.nextAttemptAt, e.id), null)
      return
    }
    case 'deliveryAttempt':
      return void store.deliveryLog.putSync(deliveryLogKey(r.value.queueId, r.value.attempt), r.value)
    case 'captureRule':
      return void store.captureRules.putSync(r.value.id, r.value)
    case 'familiarAddress':
      return void store.familiarAddresses.putSync(familiarAddressKey(r.value.user, r.value.network), r.value.lastLogin)
    case 'sieveScript': {
      const {user, name, content, active, updatedAt} = r.value
      store.sieveScripts!.putSync(sieveScriptKey(user, name), {content, updatedAt})
      if (active) store.sieveActive!.putSync(user, name)
      return
    }
    case 'secret':
      return void store.settingsDb?.putSync(secretKey(r.value.name), Buffer.from(r.value.value, 'base64'))
    case 'certificate':
      return void store.certsDb?.putSync(certificateKey(r.value.names[0]!), r.value)
    case 'acmeAccount':
      return void store.certsDb?.putSync(acmeAccountKey(r.value.directory), r.value)
  }
}

/** An LMDB store as the destination of a copy. */
export function lmdbTarget(store: Store, where: string): TransferTarget {
  const assertEmpty = async () => {
    for (const [kind, dbs] of Object.entries(databasesOf(store)) as [Kind, {getCount(): number}[]][]) {
      if (dbs.some((db) => db.getCount() > 0)) throw notEmptyError(where, kind)
    }
  }
  return {
    where,
    assertEmpty,
    async write(records, committed) {
      await assertEmpty()
      const commit = (batch: TransferRecord[]) => store.transactAsync(() => batch.forEach((r) => put(store, r)))
      const counters = await commitBatches(records, commit, committed)
      if (!counters) return
      const {lastUidValidity, lastFolderId, createdAt} = counters
      // never backwards: a counter that moved here already keeps its value
      await store.transactAsync(() => {
        store.meta.putSync('lastUidValidity', Math.max(counter(store.meta.get('lastUidValidity')), lastUidValidity))
        store.meta.putSync('lastMailboxId', Math.max(counter(store.meta.get('lastMailboxId')), lastFolderId))
        store.meta.putSync('createdAt', createdAt)
      })
    },
  }
}
