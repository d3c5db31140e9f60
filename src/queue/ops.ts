/**
 * Queue entries and their state changes, on the store. Every change rewrites the entry and moves
 * its `queueIndex` key ([state, priority, dueAt, id]) in the same transaction, so the index never
 * disagrees with the entries. Used by the queue actor (the foreman) and by `mailbox queue …`
 * when no server runs; with a server running, the CLI goes through the actor instead, so its
 * changes are serialized with the sending.
 *
 * States: queued (due at nextAttemptAt) → sending → delivered | deferred (due again later) |
 * failed; held is set aside until released. An entry keeps one blob reference until it is
 * delivered, failed or deleted.
 */
import {MailboxError} from '../errors.js'
import {releaseBlob} from '../mailstore/blobs.js'
import {deliveryLogKey, deliveryLogRange, queueIndexKey, queueStateRange} from '../store/keys.js'
import type {DeliveryAttemptRecord, QueueEntry, QueueState} from '../store/records.js'
import type {Store} from '../store/store.js'

export const FINAL: QueueState[] = ['delivered', 'failed']

export function getEntry(store: Store, id: string): QueueEntry {
  const entry = store.queue.get(id)
  if (!entry) throw new MailboxError('not-found', `no queue entry ${id}`)
  return entry
}

/** how many candidates an ambiguous id lists */
const CANDIDATES_SHOWN = 10

/**
 * The entry an administrator means: its full id, or any prefix or suffix of it that names one
 * entry only (the dashboard shows the last characters of an id, `queue list` the whole). An
 * abbreviation that fits several entries is refused with them listed.
 */
export function findEntry(store: Store, given: string): QueueEntry {
  const exact = given ? store.queue.get(given) : undefined
  if (exact) return exact
  const needle = given.trim().toLowerCase()
  if (!needle) throw new MailboxError('invalid', 'give a queue entry id')
  const matches: string[] = []
  for (const key of store.queue.getKeys()) {
    const id = String(key)
    if (id.startsWith(needle) || id.endsWith(needle)) matches.push(id)
  }
  if (matches.length === 0) throw new MailboxError('not-found', `no queue entry ${given}`)
  if (matches.length > 1) {
    const shown = matches.slice(0, CANDIDATES_SHOWN).join(', ')
    const more = matches.length > CANDIDATES_SHOWN ? ` and ${matches.length - CANDIDATES_SHOWN} more` : ''
    throw new MailboxError('conflict', `queue id ${given} is ambiguous: it matches ${shown}${more}; give more of it`)
  }
  return store.queue.get(matches[0]!)!
}

/** Rewrites an entry, moving its index key; inside a transaction. Releases the blob when it becomes final. */
export function updateEntry(store: Store, entry: QueueEntry, change: Partial<QueueEntry>): QueueEntry {
  const next = {...entry, ...change}
  store.queueIndex.removeSync(queueIndexKey(entry.state, entry.priority, entry.nextAttemptAt, entry.id))
  store.queue.putSync(next.id, next)
  store.queueIndex.putSync(queueIndexKey(next.state, next.priority, next.nextAttemptAt, next.id), null)
  if (FINAL.includes(next.state) && !FINAL.includes(entry.state)) releaseBlob(store, entry.blobId)
  return next
}

export function listEntries(store: Store, state?: QueueState): QueueEntry[] {
  const states: QueueState[] = state ? [state] : ['sending', 'queued', 'deferred', 'held', 'failed', 'delivered']
  return states.flatMap((s) => [...store.queueIndex.getKeys(queueStateRange(s))].map((k) => store.queue.get(String((k as unknown[])[3]))!)).filter(Boolean)
}

export function attemptsOf(store: Store, id: string): DeliveryAttemptRecord[] {
  return [...store.deliveryLog.getRange(deliveryLogRange(id)).map(({value}) => value)]
}

export function logAttempt(store: Store, record: DeliveryAttemptRecord): void {
  store.deliveryLog.putSync(deliveryLogKey(record.queueId, record.attempt), record)
}

type IndexKey = [string, number, number, string]

/** Two index ranges, each ordered by due time, merged lazily into one ordered by due time. */
function* byDueTime(a: Iterator<IndexKey>, b: Iterator<IndexKey>): Generator<IndexKey> {
  try {
    let x = a.next()
    let y = b.next()
    while (!x.done || !y.done) {
      if (y.done || (!x.done && x.value[2] <= y.value[2])) {
        yield x.value as IndexKey
        x = a.next()
      } else {
        yield y.value
        y = b.next()
      }
    }
  } finally {
    // a caller that stops early must not leave the cursors (and their read snapshot) open
    a.return?.()
    b.return?.()
  }
}

/** a place in the due order: the [priority, dueAt, id] of an index key */
export type DuePosition = [priority: number, dueAt: number, id: string]

export interface DueScan {
  /** entries passed over by id, without being read */
  skip?: (id: string) => boolean
  /** index keys looked at, at most (skipped ones count too) */
  maxKeys?: number
  /** start after this place (where an earlier scan stopped at its bound) */
  after?: DuePosition
  /** kept up to date as the scan goes: the last key looked at, and whether the scan got to the end */
  progress?: {last?: DuePosition; ended: boolean}
}

/**
 * Entries due now (queued or deferred), by priority then due time, read lazily: only the keys
 * looked at are decoded, and an entry `skip` names by id is passed over without reading it. The
 * index key is [state, priority, dueAt, id], so each (state, priority) pair is one range scan.
 * With `maxKeys`, a caller's work is bounded however many entries it passes over; `progress` and
 * `after` let the next scan go on where this one stopped.
 */
export function* dueIterator(store: Store, now: number, scan: DueScan = {}): Generator<QueueEntry> {
  const {skip = () => false, maxKeys = Infinity, after, progress} = scan
  let looked = 0
  for (let priority = after?.[0] ?? 0; priority <= 2; priority++) {
    const from = after && priority === after[0] ? [after[1], after[2]] : [0]
    const range = (state: QueueState) => store.queueIndex.getKeys({start: [state, priority, ...from], end: [state, priority, now + 1]})[Symbol.iterator]() as Iterator<IndexKey>
    for (const [, , dueAt, id] of byDueTime(range('queued'), range('deferred'))) {
      if (after && priority === after[0] && dueAt === after[1] && id === after[2]) continue
      if (++looked > maxKeys) return
      if (progress) progress.last = [priority, dueAt, id]
      if (skip(id)) continue
      const entry = store.queue.get(id)
      if (entry) yield entry
    }
  }
  if (progress) progress.ended = true
}

/**
 * The earliest time an entry becomes due, or undefined when nothing waits: within one
 * (state, priority) the index is ordered by due time, so the first key of each of the six ranges.
 */
export function nextDue(store: Store): number | undefined {
  let earliest: number | undefined
  for (const state of ['queued', 'deferred'] as const) {
    for (let priority = 0; priority <= 2; priority++) {
      for (const key of store.queueIndex.getKeys({start: [state, priority], end: [state, priority + 1], limit: 1})) {
        const dueAt = (key as [string, number, number, string])[2]
        if (earliest === undefined || dueAt < earliest) earliest = dueAt
      }
    }
  }
  return earliest
}

/** After a crash, entries left `sending` are due again (a duplicate is possible, a loss is not). */
export function recoverSending(store: Store): number {
  return store.transact(() => {
    const stuck = listEntries(store, 'sending')
    for (const e of stuck) updateEntry(store, e, {state: 'queued', nextAttemptAt: Date.now()})
    return stuck.length
  })
}

/*
 * The administrator's changes below commit asynchronously (lmdb-js's batched write transaction:
 * the fsync is off the main thread), so `queue retry` of a long queue in a running server never
 * stalls the IMAP, POP3 and SMTP sessions. Each reads the entry inside its transaction, so a check
 * (`cannot hold: it is sending`) cannot go stale before the write.
 */
function change(store: Store, id: string, allowed: QueueState[], verb: string, fn: (e: QueueEntry) => Partial<QueueEntry>): Promise<QueueEntry> {
  return store.transactAsync(() => {
    const entry = findEntry(store, id)
    if (!allowed.includes(entry.state)) throw new MailboxError('conflict', `cannot ${verb} entry ${entry.id}: it is ${entry.state}`)
    return updateEntry(store, entry, fn(entry))
  })
}

export const retryEntry = (store: Store, id: string) =>
  change(store, id, ['queued', 'deferred'], 'retry', () => ({state: 'queued', nextAttemptAt: Date.now()}))
export const holdEntry = (store: Store, id: string) => change(store, id, ['queued', 'deferred'], 'hold', () => ({state: 'held'}))
export const releaseEntry = (store: Store, id: string) =>
  change(store, id, ['held'], 'release', () => ({state: 'queued', nextAttemptAt: Date.now()}))

/** Removes an entry (no bounce) with its attempt log; refuses one that is being sent right now. */
export function deleteEntry(store: Store, id: string): Promise<QueueEntry> {
  return store.transactAsync(() => {
    const entry = findEntry(store, id)
    if (entry.state === 'sending') throw new MailboxError('conflict', `entry ${entry.id} is being sent right now; try again in a moment`)
    store.queueIndex.removeSync(queueIndexKey(entry.state, entry.priority, entry.nextAttemptAt, entry.id))
    store.queue.removeSync(entry.id)
    for (const a of attemptsOf(store, entry.id)) store.deliveryLog.removeSync(deliveryLogKey(entry.id, a.attempt))
    if (!FINAL.includes(entry.state)) releaseBlob(store, entry.blobId)
    return entry
  })
}

/**
 * entries one commit of a bulk change rewrites: a long queue is changed in steps, between which
 * sessions are served (a step of 500 held the event loop ~30 ms; of 100, ~6 ms)
 */
export const BULK_BATCH = 100

/**
 * Rewrites every entry in `states` that `pick` selects, BULK_BATCH per async commit. Each step
 * reads its entries inside its own transaction (so it never acts on a stale state) and scans on
 * from the last index key it looked at. An entry rewritten into a range still to be scanned is
 * met again there and passed over.
 */
async function changeMany(store: Store, states: QueueState[], pick: (e: QueueEntry) => boolean, change: () => Partial<QueueEntry>): Promise<QueueEntry[]> {
  const changed: QueueEntry[] = []
  const seen = new Set<string>()
  for (const state of states) {
    let after: IndexKey | undefined
    for (let done = false; !done; ) {
      done = await store.transactAsync(() => {
        // the step's keys first: the index is rewritten below, never under an open cursor
        const keys: IndexKey[] = []
        for (const key of store.queueIndex.getKeys({...queueStateRange(state), ...(after ? {start: after} : {})}) as Iterable<IndexKey>) {
          if (after && key[1] === after[1] && key[2] === after[2] && key[3] === after[3]) continue
          if (keys.push(key) > BULK_BATCH) break
        }
        for (const key of keys.slice(0, BULK_BATCH)) {
          after = key
          if (seen.has(key[3])) continue
          const entry = store.queue.get(key[3])
          if (!entry || entry.state !== state || !pick(entry)) continue
          seen.add(entry.id)
          changed.push(updateEntry(store, entry, change()))
        }
        return keys.length <= BULK_BATCH
      })
    }
  }
  return changed
}

/** Makes every deferred entry due now (`queue flush`), or only those for one destination domain (`--domain`). */
export function flushEntries(store: Store, domain?: string): Promise<QueueEntry[]> {
  const only = domain?.trim().toLowerCase()
  return changeMany(store, ['deferred'], (e) => only === undefined || e.domain === only, () => ({state: 'queued', nextAttemptAt: Date.now()}))
}

/** Makes every queued and deferred entry due now (`queue retry` without an id). */
export function retryAll(store: Store): Promise<QueueEntry[]> {
  return changeMany(store, ['deferred', 'queued'], () => true, () => ({state: 'queued', nextAttemptAt: Date.now()}))
}

/**
 * Removes delivered and failed entries (with their attempt logs) that finished before `before`:
 * they stay visible to `queue list/show` for the retention time, then go, so the queue's history
 * cannot grow without bound. Returns how many went.
 */
export function purgeFinished(store: Store, before: number, limit = 10_000): number {
  return store.transact(() => purgeFinishedInTxn(store, before, limit))
}

/** The same inside the caller's write transaction (the server's is async: no fsync on the event loop). */
export function purgeFinishedInTxn(store: Store, before: number, limit = 10_000): number {
  let removed = 0
  for (const state of FINAL) {
    for (const key of [...store.queueIndex.getKeys(queueStateRange(state))]) {
      if (removed >= limit) return removed
      const entry = store.queue.get(String((key as unknown[])[3]))
      if (!entry || entry.nextAttemptAt >= before) continue // a final entry's nextAttemptAt is when it finished
      store.queueIndex.removeSync(key as (string | number)[])
      store.queue.removeSync(entry.id)
      for (const a of attemptsOf(store, entry.id)) store.deliveryLog.removeSync(deliveryLogKey(entry.id, a.attempt))
      removed++
    }
  }
  return removed
}
