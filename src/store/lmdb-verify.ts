/**
 * `mailbox verify` on LMDB (see ./verify.ts): the snapshot's facts from one read transaction
 * (writers go on meanwhile: a reader never blocks LMDB's writer), and the repairs, each one small
 * async commit that checks its fact again on the latest state before it writes.
 */
import {deliveryLogKey, mailboxKey, mailboxMessagesRange} from './keys.js'
import {isSeen} from './flag-change.js'
import type {Store} from './store.js'
import {type Fact, type FactSource, indexKeyOf, type QueueIndexKey, sameKey} from './verify.js'
import {CHANGED, type FolderName, type RepairOutcome, type StoreRepairs} from './verify-repair.js'

const counter = (value: unknown): number => (typeof value === 'number' ? value : 0)

export function lmdbFacts(store: Store): FactSource {
  const txn = store.env.useReadTransaction()
  // a new options object per call: lmdb-js writes into the one it is given
  const read = () => ({transaction: txn})
  let closed = false
  return {
    total: async () =>
      [store.users, store.mailboxes, store.subscriptions, store.blobInfo, store.messages, store.queueEntries, store.queueIndex, store.deliveryLog].reduce(
        (n, db) => n + (db as {getCount(o: object): number}).getCount(read()),
        0,
      ),
    async *facts(): AsyncGenerator<Fact> {
      yield {kind: 'counters', lastFolderId: counter(store.meta.get('lastMailboxId', read())), lastUidValidity: counter(store.meta.get('lastUidValidity', read()))}
      for (const address of store.users.getKeys(read())) yield {kind: 'user', address}
      for (const {value} of store.mailboxes.getRange(read())) yield {kind: 'folder', value}
      for (const [user, name] of store.subscriptions.getKeys(read())) yield {kind: 'subscription', user, name}
      // one pass over both databases, in key order (ids are ASCII: JavaScript's order is the keys' byte order)
      const bytes = store.blobs.getKeys(read())[Symbol.iterator]()
      let next = bytes.next()
      for (const {key, value} of store.blobInfo.getRange(read())) {
        for (; !next.done && next.value < key; next = bytes.next()) yield {kind: 'bytes', id: next.value}
        const has = !next.done && next.value === key
        if (has) next = bytes.next()
        yield {kind: 'blob', id: key, refs: value.refs, bytes: has}
      }
      for (; !next.done; next = bytes.next()) yield {kind: 'bytes', id: next.value}
      for (const {key, value} of store.messages.getRange(read())) yield {kind: 'message', value: {folderId: key[0], ...value}}
      for (const {value} of store.queueEntries.getRange(read())) yield {kind: 'queueEntry', value}
      for (const key of store.queueIndex.getKeys(read())) yield {kind: 'queueIndex', key: key as QueueIndexKey}
      for (const [queueId, attempt] of store.deliveryLog.getKeys(read())) yield {kind: 'deliveryAttempt', queueId, attempt}
    },
    async close() {
      if (closed) return
      closed = true
      txn.done()
    },
  }
}

/** The repairs on LMDB (./verify-repair.ts says what each one does). */
export function lmdbRepairs(store: Store): StoreRepairs {
  const write = (fn: () => RepairOutcome) => store.transactAsync(fn)
  return {
    raiseCounters: () =>
      write(() => {
        let [id, uidValidity] = [0, 0]
        for (const {value} of store.mailboxes.getRange()) [id, uidValidity] = [Math.max(id, value.id), Math.max(uidValidity, value.uidValidity)]
        const before = {lastFolderId: counter(store.meta.get('lastMailboxId')), lastUidValidity: counter(store.meta.get('lastUidValidity'))}
        const after = {lastFolderId: Math.max(before.lastFolderId, id), lastUidValidity: Math.max(before.lastUidValidity, uidValidity)}
        store.meta.putSync('lastMailboxId', after.lastFolderId)
        store.meta.putSync('lastUidValidity', after.lastUidValidity)
        return {done: true, before, after}
      }),

    repairFolder: (f: FolderName) =>
      write(() => {
        const folder = store.mailboxes.get(mailboxKey(f.user, f.folder))
        if (!folder || folder.id !== f.folderId) return CHANGED
        let messages = 0
        let unseen = 0
        let size = 0
        let maxUid = 0
        let maxModseq = 0
        for (const {value} of store.messages.getRange(mailboxMessagesRange(folder.id))) {
          messages++
          size += value.size
          if (!isSeen(value.flags)) unseen++
          maxUid = Math.max(maxUid, value.uid)
          maxModseq = Math.max(maxModseq, value.modseq)
        }
        const subscribed = store.subscriptions.get(mailboxKey(f.user, f.folder)) !== undefined
        const after = {...folder, messages, unseen, size, uidNext: Math.max(folder.uidNext, maxUid + 1), highestModseq: Math.max(folder.highestModseq, maxModseq), subscribed}
        store.mailboxes.putSync(mailboxKey(f.user, f.folder), after)
        return {done: true, before: folder, after}
      }),

    repairBlobRefs: (blobId, seen) =>
      write(() => {
        const info = store.blobInfo.get(blobId)
        if (!info) return CHANGED
        // every operation since the snapshot moved refs and uses alike: the drift is what it was
        const refs = info.refs - (seen.refs - seen.uses)
        if (refs > 0) {
          store.blobInfo.putSync(blobId, {...info, refs})
          return {done: true, before: info.refs, after: refs}
        }
        store.blobInfo.removeSync(blobId)
        store.blobs.removeSync(blobId)
        store.blobText.removeSync(blobId)
        return {done: true, before: info.refs, after: 0}
      }),

    removeOrphanBytes: (blobId) =>
      write(() => {
        // an info record made meanwhile would make them a blob again (ids are never reused, so none is)
        if (store.blobInfo.get(blobId) || !store.blobs.doesExist(blobId)) return CHANGED
        store.blobs.removeSync(blobId)
        store.blobText.removeSync(blobId)
        return {done: true}
      }),

    removeOrphanAttempt: (queueId, attempt) =>
      write(() => {
        if (store.queueEntries.get(queueId) || !store.deliveryLog.doesExist(deliveryLogKey(queueId, attempt))) return CHANGED
        store.deliveryLog.removeSync(deliveryLogKey(queueId, attempt))
        return {done: true}
      }),

    removeIndexKey: (key) =>
      write(() => {
        const entry = store.queueEntries.get(key[3])
        const current = entry && indexKeyOf(entry)
        if ((current && sameKey(current, key)) || !store.queueIndex.doesExist(key)) return CHANGED
        store.queueIndex.removeSync(key)
        return {done: true}
      }),

    addIndexKey: (queueId) =>
      write(() => {
        const entry = store.queueEntries.get(queueId)
        if (!entry) return CHANGED
        const key = indexKeyOf(entry)
        if (store.queueIndex.doesExist(key)) return CHANGED
        store.queueIndex.putSync(key, null)
        return {done: true, after: key}
      }),
  }
}
