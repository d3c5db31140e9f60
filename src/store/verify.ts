/**
 * `mailbox verify`: the invariants of ONE store, checked over one consistent snapshot (see
 * docs/store-verify.md). Each backend reads its snapshot as a stream of facts (./lmdb-verify.ts,
 * ./pg/verify.ts); the checker here is the same for both and holds per-blob, per-folder and
 * per-queue-entry tallies, never message bytes. What it finds are breaches, each with the keys
 * that name it and whether a repair can derive the right state (./verify-repair.ts).
 *
 * A user's quota usage is not stored by either backend: it is the sum of the user's folder
 * counters (`usageByUser`), so the folder counters' check covers it.
 */
import {isSeen} from './flag-change.js'
import {queueIndexKey} from './keys.js'
import type {MailboxRecord, QueueEntry} from './records.js'
import {FINAL} from './queue-rules.js'
import type {MessageTransfer} from './transfer.js'

/** an LMDB queue index key: [state, priority 0..2, dueAt, id] */
export type QueueIndexKey = [state: string, priority: number, dueAt: number, id: string]

/**
 * What a backend's snapshot tells the checker, in FACT_ORDER (a message is checked as it passes,
 * against the folders and blobs before it, so nothing is kept per message; blob and bytes facts
 * may come interleaved).
 */
export type Fact =
  /** the store's counters: the last folder id and UIDVALIDITY given out (a new folder takes the next) */
  | {kind: 'counters'; lastFolderId: number; lastUidValidity: number}
  | {kind: 'user'; address: string}
  | {kind: 'folder'; value: MailboxRecord}
  | {kind: 'subscription'; user: string; name: string}
  /** a blob's info record; `bytes`: whether its bytes are there */
  | {kind: 'blob'; id: string; refs: number; bytes: boolean}
  /** bytes that have no info record */
  | {kind: 'bytes'; id: string}
  | {kind: 'message'; value: MessageFact}
  /** PostgreSQL only: an expunged UID's tombstone, with the MODSEQ of its expunge (QRESYNC's VANISHED) */
  | {kind: 'tombstone'; folderId: number; uid: number; modseq: number}
  | {kind: 'queueEntry'; value: QueueEntry}
  /** LMDB only: PostgreSQL's queue needs no index of its own */
  | {kind: 'queueIndex'; key: QueueIndexKey}
  | {kind: 'deliveryAttempt'; queueId: string; attempt: number}

export type FactKind = Fact['kind']

export const FACT_ORDER: readonly FactKind[] = ['counters', 'user', 'folder', 'subscription', 'blob', 'bytes', 'message', 'tombstone', 'queueEntry', 'queueIndex', 'deliveryAttempt']

/** what the checker needs of a message entry */
export type MessageFact = Pick<MessageTransfer, 'folderId' | 'uid' | 'blobId' | 'flags' | 'size' | 'modseq'>

/** One consistent snapshot of a store, read as facts. */
export interface FactSource {
  /** how many facts there are to read (progress) */
  total(): Promise<number>
  facts(): AsyncIterable<Fact>
  close(): Promise<void>
}

export type BreachKind =
  | 'last-folder-id'
  | 'last-uidvalidity'
  | 'message-blob-missing'
  | 'message-folder-missing'
  | 'blob-bytes-missing'
  | 'bytes-without-info'
  | 'blob-refs'
  | 'orphan-blob'
  | 'folder-counters'
  | 'uidnext'
  | 'highestmodseq'
  | 'subscribed'
  | 'folder-user-missing'
  | 'queue-blob-missing'
  | 'queue-index-missing'
  | 'queue-index-stale'
  | 'orphan-delivery-log'

export interface FolderCounters {
  messages: number
  unseen: number
  size: number
}

/** A broken invariant, with the keys that name what is broken. */
export interface Breach {
  kind: BreachKind
  /** a repair can put it right from what the store holds */
  derivable: boolean
  /** one line for a person */
  text: string
  user?: string
  folder?: string
  folderId?: number
  uid?: number
  blobId?: string
  queueId?: string
  attempt?: number
  /** the queue index key, as stored (queue-index-stale) */
  indexKey?: QueueIndexKey
  /** what the store holds, and what its entries say it should */
  found?: number | FolderCounters | boolean
  expected?: number | FolderCounters | boolean
}

interface BlobTally {
  /** refs of the info record; undefined: no info record */
  refs?: number
  bytes: boolean
  /** messages and live queue entries that use it */
  uses: number
}

interface FolderTally extends FolderCounters {
  /** of its messages and (PostgreSQL) its expunge tombstones */
  maxUid: number
  maxModseq: number
}

/** the index key an entry must have */
export const indexKeyOf = (e: QueueEntry): QueueIndexKey => queueIndexKey(e.state, e.priority, e.nextAttemptAt, e.id)

export const sameKey = (a: QueueIndexKey, b: QueueIndexKey) => a.every((x, i) => x === b[i])

const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`

/** Tallies facts as they pass (in FACT_ORDER); `breaches()` once they are all in. */
export class Checker {
  private readonly users = new Set<string>()
  private readonly folders = new Map<number, MailboxRecord>()
  private readonly subscriptions = new Set<string>()
  private readonly blobs = new Map<string, BlobTally>()
  private readonly tallies = new Map<number, FolderTally>()
  /** each queue entry's index key (its state first): all the later checks need of it */
  private readonly queue = new Map<string, QueueIndexKey>()
  /** entries whose index key was found */
  private readonly indexed = new Set<string>()
  /** what is checked as it passes */
  private readonly early: Breach[] = []
  private counters?: {lastFolderId: number; lastUidValidity: number}
  /** facts seen, by kind */
  readonly counts: Partial<Record<FactKind, number>> = {}

  /** `keepsIndex`: the backend keeps a queue index (LMDB), so an entry without a key is a breach */
  constructor(private readonly keepsIndex: boolean) {}

  private blob(id: string): BlobTally {
    let b = this.blobs.get(id)
    if (!b) this.blobs.set(id, (b = {bytes: false, uses: 0}))
    return b
  }

  private tally(folderId: number): FolderTally {
    let t = this.tallies.get(folderId)
    if (!t) this.tallies.set(folderId, (t = {messages: 0, unseen: 0, size: 0, maxUid: 0, maxModseq: 0}))
    return t
  }

  private folderKeys(id: number) {
    const f = this.folders.get(id)
    return f ? {user: f.user, folder: f.name, folderId: id} : {folderId: id}
  }

  private named(id: number): string {
    const f = this.folders.get(id)
    return f ? `${f.user} ${JSON.stringify(f.name)} (id ${id})` : `folder id ${id}`
  }

  add(fact: Fact): void {
    this.counts[fact.kind] = (this.counts[fact.kind] ?? 0) + 1
    switch (fact.kind) {
      case 'counters':
        return void (this.counters = {lastFolderId: fact.lastFolderId, lastUidValidity: fact.lastUidValidity})
      case 'user':
        return void this.users.add(fact.address)
      case 'folder':
        return void this.folders.set(fact.value.id, fact.value)
      case 'subscription':
        return void this.subscriptions.add(`${fact.user}\u0000${fact.name}`)
      case 'blob': {
        const b = this.blob(fact.id)
        b.refs = fact.refs
        b.bytes = fact.bytes
        return
      }
      case 'bytes':
        return void (this.blob(fact.id).bytes = true)
      case 'message':
        return this.addMessage(fact.value)
      case 'tombstone': {
        const t = this.tally(fact.folderId)
        t.maxUid = Math.max(t.maxUid, fact.uid)
        t.maxModseq = Math.max(t.maxModseq, fact.modseq)
        return
      }
      case 'queueEntry': {
        const e = fact.value
        this.queue.set(e.id, indexKeyOf(e))
        if (FINAL.includes(e.state)) return
        const b = this.blob(e.blobId)
        b.uses++
        if (b.refs === undefined) {
          this.early.push({kind: 'queue-blob-missing', derivable: false, text: `queue entry ${e.id} (${e.state}): its blob ${e.blobId} is gone`, queueId: e.id, blobId: e.blobId})
        }
        return
      }
      case 'queueIndex': {
        const key = fact.key
        const current = this.queue.get(key[3])
        if (current && sameKey(key, current)) return void this.indexed.add(key[3])
        const why = current ? `the entry is ${JSON.stringify(current)}` : 'no such entry'
        return void this.early.push({kind: 'queue-index-stale', derivable: true, text: `queue index ${JSON.stringify(key)}: ${why}`, queueId: key[3], indexKey: key})
      }
      case 'deliveryAttempt':
        if (this.queue.has(fact.queueId)) return
        return void this.early.push({
          kind: 'orphan-delivery-log',
          derivable: true,
          text: `delivery log of ${fact.queueId}, attempt ${fact.attempt}: the queue entry does not exist`,
          queueId: fact.queueId,
          attempt: fact.attempt,
        })
    }
  }

  private addMessage(m: MessageFact): void {
    const b = this.blob(m.blobId)
    b.uses++
    const t = this.tally(m.folderId)
    t.messages++
    t.size += m.size
    if (!isSeen(m.flags)) t.unseen++
    t.maxUid = Math.max(t.maxUid, m.uid)
    t.maxModseq = Math.max(t.maxModseq, m.modseq)
    const at = {uid: m.uid, blobId: m.blobId}
    if (!this.folders.has(m.folderId)) {
      this.early.push({kind: 'message-folder-missing', derivable: false, text: `message ${m.uid} of folder id ${m.folderId}: the folder does not exist`, folderId: m.folderId, ...at})
    }
    if (b.refs === undefined) {
      this.early.push({kind: 'message-blob-missing', derivable: false, text: `message ${m.uid} of ${this.named(m.folderId)}: its blob ${m.blobId} is gone`, ...this.folderKeys(m.folderId), ...at})
    }
  }

  /** every breach: messages, folders, blobs, then the queue */
  breaches(): Breach[] {
    const isQueue = (b: Breach) => b.queueId !== undefined
    return [...this.counterBreaches(), ...this.early.filter((b) => !isQueue(b)), ...this.folderBreaches(), ...this.blobBreaches(), ...this.early.filter(isQueue), ...this.unindexed()]
  }

  /** a counter below what a folder holds: the next folder would reuse an id (its messages would show in it) or a UIDVALIDITY */
  private counterBreaches(): Breach[] {
    if (!this.counters) return []
    const folders = [...this.folders.values()]
    const maxId = Math.max(0, ...folders.map((f) => f.id))
    const maxUidValidity = Math.max(0, ...folders.map((f) => f.uidValidity))
    const {lastFolderId, lastUidValidity} = this.counters
    const out: Breach[] = []
    if (lastFolderId < maxId) out.push({kind: 'last-folder-id', derivable: true, text: `the last folder id given out is ${lastFolderId}, below folder id ${maxId}`, found: lastFolderId, expected: maxId})
    if (lastUidValidity < maxUidValidity) {
      out.push({kind: 'last-uidvalidity', derivable: true, text: `the last UIDVALIDITY given out is ${lastUidValidity}, below a folder's ${maxUidValidity}`, found: lastUidValidity, expected: maxUidValidity})
    }
    return out
  }

  private folderBreaches(): Breach[] {
    const out: Breach[] = []
    for (const f of [...this.folders.values()].sort((a, b) => a.id - b.id)) {
      const t = this.tallies.get(f.id) ?? {messages: 0, unseen: 0, size: 0, maxUid: 0, maxModseq: 0}
      const keys = {user: f.user, folder: f.name, folderId: f.id}
      const name = this.named(f.id)
      const expected = {messages: t.messages, unseen: t.unseen, size: t.size}
      const found = {messages: f.messages, unseen: f.unseen, size: f.size}
      const wrong = (['messages', 'unseen', 'size'] as const).filter((k) => found[k] !== expected[k])
      if (wrong.length) {
        out.push({kind: 'folder-counters', derivable: true, text: `${name}: ${wrong.map((k) => `${k} ${found[k]}, its entries say ${expected[k]}`).join('; ')}`, ...keys, found, expected})
      }
      if (t.maxUid >= f.uidNext) out.push({kind: 'uidnext', derivable: true, text: `${name}: UIDNEXT ${f.uidNext} is not above UID ${t.maxUid}`, ...keys, found: f.uidNext, expected: t.maxUid + 1})
      if (t.maxModseq > f.highestModseq) {
        out.push({kind: 'highestmodseq', derivable: true, text: `${name}: HIGHESTMODSEQ ${f.highestModseq} is below MODSEQ ${t.maxModseq}`, ...keys, found: f.highestModseq, expected: t.maxModseq})
      }
      const subscribed = this.subscriptions.has(`${f.user}\u0000${f.name}`)
      if (f.subscribed !== subscribed) {
        const text = `${name}: marked ${f.subscribed ? '' : 'not '}subscribed, the subscriptions say ${subscribed ? '' : 'not '}subscribed`
        out.push({kind: 'subscribed', derivable: true, text, ...keys, found: f.subscribed, expected: subscribed})
      }
      if (!this.users.has(f.user)) out.push({kind: 'folder-user-missing', derivable: false, text: `${name}: the user does not exist`, ...keys})
    }
    return out
  }

  private blobBreaches(): Breach[] {
    const out: Breach[] = []
    for (const [blobId, b] of [...this.blobs].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      if (b.refs === undefined) {
        // the entries that use it were named already; bytes nobody uses are an orphan
        if (b.bytes) {
          const text = `blob ${blobId}: bytes without an info record, used by ${b.uses === 0 ? 'nothing' : entries(b.uses)}`
          out.push({kind: 'bytes-without-info', derivable: b.uses === 0, text, blobId, expected: b.uses})
        }
        continue
      }
      if (!b.bytes) out.push({kind: 'blob-bytes-missing', derivable: false, text: `blob ${blobId}: its info record has no bytes (used by ${entries(b.uses)})`, blobId, expected: b.uses})
      if (b.uses === 0) out.push({kind: 'orphan-blob', derivable: true, text: `blob ${blobId}: used by nothing (refs ${b.refs})`, blobId, found: b.refs, expected: 0})
      else if (b.refs !== b.uses) out.push({kind: 'blob-refs', derivable: true, text: `blob ${blobId}: refs ${b.refs}, used by ${entries(b.uses)}`, blobId, found: b.refs, expected: b.uses})
    }
    return out
  }

  private unindexed(): Breach[] {
    if (!this.keepsIndex) return []
    return [...this.queue]
      .filter(([id]) => !this.indexed.has(id))
      .map(([id, [state]]): Breach => ({kind: 'queue-index-missing', derivable: true, text: `queue entry ${id} (${state}): not in the queue index`, queueId: id}))
  }
}

/** Runs a snapshot through a checker; `progress` hears the facts read so far. */
export async function checkFacts(source: FactSource, options: {keepsIndex: boolean; progress?: (done: number, total: number) => void}): Promise<{breaches: Breach[]; counts: Checker['counts']}> {
  const checker = new Checker(options.keepsIndex)
  const total = await source.total()
  let done = 0
  for await (const fact of source.facts()) {
    checker.add(fact)
    if (++done % 1000 === 0) options.progress?.(done, total)
  }
  options.progress?.(total, total)
  return {breaches: checker.breaches(), counts: checker.counts}
}
