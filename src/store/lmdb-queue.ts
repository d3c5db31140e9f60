/**
 * The outbound queue on LMDB: the `QueueStore` of ./backend.ts over the `queueEntries`,
 * `queueIndex` and `deliveryLog` databases (moved from src/queue/ops.ts and entries.ts, behaviour
 * unchanged). Every change rewrites the entry and moves its `queueIndex` key ([state, priority,
 * dueAt, id]) in the same transaction, so the index never disagrees with the entries.
 *
 * States: queued (due at nextAttemptAt) → sending → delivered | deferred (due again later) |
 * failed; held is set aside until released. An entry keeps one blob reference until it is
 * delivered, failed or deleted.
 *
 * The lease of a claim is the process: there is one foreman per store, and an entry left
 * `sending` by a process that died is due again at the next start (`recoverExpired`). Reads are
 * synchronous and return resolved promises; the foreman's claims and outcomes, and the
 * administrator's changes, are async commits (lmdb-js's batched write transaction: one fsync,
 * off the main thread, for every write of an event turn), so delivery and a `queue retry` of a
 * long queue never stall the IMAP, POP3 and SMTP sessions.
 */
import {MailboxError} from '../errors.js'
import {releaseBlob} from './lmdb-blobs.js'
import type {DuePosition, DueScan, QueueOutcome, QueueStore} from './backend.js'
import {deliveryLogKey, deliveryLogRange, queueDueBeforeRange, queueIndexKey, queueStateRange} from './keys.js'
import {BULK_BATCH, DUE, FINAL, LISTED_STATES, QUEUE_STATES, beingSent, deletedMeanwhile, idNeedle, notAllowed, unmatchedId} from './queue-rules.js'
import type {DeliveryAttemptRecord, QueueEntry, QueueState} from './records.js'
import type {Store} from './store.js'

export {BULK_BATCH} from './queue-rules.js'

/** Writes an entry as given, with its index key; inside a transaction (./lmdb-enqueue.ts; tests put entries in any state with it). */
export function putQueueEntry(store: Store, entry: QueueEntry): void {
  store.queueEntries.putSync(entry.id, entry)
  store.queueIndex.putSync(queueIndexKey(entry.state, entry.priority, entry.nextAttemptAt, entry.id), null)
}

export function getEntry(store: Store, id: string): QueueEntry {
  const entry = store.queueEntries.get(id)
  if (!entry) throw new MailboxError('not-found', `no queue entry ${id}`)
  return entry
}

/**
 * The entry an administrator means: its full id, or any prefix or suffix of it that names one
 * entry only (the dashboard shows the last characters of an id, `queue list` the whole). An
 * abbreviation that fits several entries is refused with them listed.
 */
export function findEntry(store: Store, given: string): QueueEntry {
  const exact = given ? store.queueEntries.get(given) : undefined
  if (exact) return exact
  const needle = idNeedle(given)
  const matches: string[] = []
  for (const key of store.queueEntries.getKeys()) {
    const id = String(key)
    if (id.startsWith(needle) || id.endsWith(needle)) matches.push(id)
  }
  if (matches.length !== 1) throw unmatchedId(given, matches)
  return store.queueEntries.get(matches[0]!)!
}

/** Rewrites an entry, moving its index key; inside a transaction. Releases the blob when it becomes final. */
export function updateEntry(store: Store, entry: QueueEntry, change: Partial<QueueEntry>): QueueEntry {
  const next = {...entry, ...change}
  store.queueIndex.removeSync(queueIndexKey(entry.state, entry.priority, entry.nextAttemptAt, entry.id))
  store.queueEntries.putSync(next.id, next)
  store.queueIndex.putSync(queueIndexKey(next.state, next.priority, next.nextAttemptAt, next.id), null)
  if (FINAL.includes(next.state) && !FINAL.includes(entry.state)) releaseBlob(store, entry.blobId)
  return next
}

export function listEntries(store: Store, state?: QueueState): QueueEntry[] {
  const states: QueueState[] = state ? [state] : LISTED_STATES
  return states.flatMap((s) => [...store.queueIndex.getKeys(queueStateRange(s))].map((k) => store.queueEntries.get(String((k as unknown[])[3]))!)).filter(Boolean)
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
      if (progress) progress.last = [priority, dueAt, id] as DuePosition
      if (skip(id)) continue
      const entry = store.queueEntries.get(id)
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
  for (const state of DUE) {
    for (let priority = 0; priority <= 2; priority++) {
      for (const key of store.queueIndex.getKeys({start: [state, priority], end: [state, priority + 1], limit: 1})) {
        const dueAt = (key as IndexKey)[2]
        if (earliest === undefined || dueAt < earliest) earliest = dueAt
      }
    }
  }
  return earliest
}

/** Removes an entry with its attempt log; inside a transaction. */
function removeEntry(store: Store, entry: QueueEntry): void {
  store.queueIndex.removeSync(queueIndexKey(entry.state, entry.priority, entry.nextAttemptAt, entry.id))
  store.queueEntries.removeSync(entry.id)
  for (const a of attemptsOf(store, entry.id)) store.deliveryLog.removeSync(deliveryLogKey(entry.id, a.attempt))
}

/**
 * Removes delivered and failed entries (with their attempt logs) that finished before `before`:
 * they stay visible to `queue list/show` for the retention time, then go, so the queue's history
 * cannot grow without bound. Their blobs were released when they became final. Inside the
 * caller's write transaction. Looks at no more index keys than it removes (a final entry's index
 * due time is when it finished: each (state, priority) range is read up to `before` only), so a
 * step costs its batch however many younger entries are kept. Returns how many went.
 */
export function purgeFinishedInTxn(store: Store, before: number, limit = 10_000): number {
  let removed = 0
  for (const state of FINAL) {
    for (let priority = 0; priority <= 2 && removed < limit; priority++) {
      // the keys first: the index is rewritten below, never under an open cursor
      const keys = [...store.queueIndex.getKeys({...queueDueBeforeRange(state, priority, before), limit: limit - removed})] as IndexKey[]
      for (const key of keys) {
        const entry = store.queueEntries.get(key[3])
        if (entry) removeEntry(store, entry)
        else store.queueIndex.removeSync(key) // an index key without its entry: mended, not counted forever
        removed++
      }
    }
  }
  return removed
}

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
          const entry = store.queueEntries.get(key[3])
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

/** due now: what retry, release and flush make an entry */
const dueNow = (): Partial<QueueEntry> => ({state: 'queued', nextAttemptAt: Date.now()})

export function lmdbQueue(store: Store): QueueStore {
  const read = async <T>(fn: () => T): Promise<T> => fn()
  /**
   * The administrator's changes read the entry inside their (async) transaction, so a check
   * (`cannot hold: it is sending`) cannot go stale before the write.
   */
  const change = (id: string, allowed: QueueState[], verb: string, fn: (e: QueueEntry) => Partial<QueueEntry>): Promise<QueueEntry> =>
    store.transactAsync(() => {
      const entry = findEntry(store, id)
      if (!allowed.includes(entry.state)) throw notAllowed(verb, entry.id, entry.state)
      return updateEntry(store, entry, fn(entry))
    })

  return {
    leased: false,
    async due(now, scan, visit) {
      for (const entry of dueIterator(store, now, scan)) if (visit(entry) === false) return
    },
    claim: (id, now) =>
      store.transactAsync(() => {
        const current = store.queueEntries.get(id)
        if (!current || !DUE.includes(current.state) || current.nextAttemptAt > now) return undefined
        return updateEntry(store, current, {state: 'sending', attempts: current.attempts + 1})
      }),
    finish: (id, outcome: QueueOutcome) =>
      store.transactAsync(() => {
        const current = store.queueEntries.get(id)
        if (!current) return undefined // deleted meanwhile
        logAttempt(store, outcome.attempt)
        const {lastError: _, ...rest} = current
        return updateEntry(store, rest, {
          recipients: outcome.recipients,
          state: outcome.state,
          nextAttemptAt: outcome.nextAttemptAt,
          ...(outcome.lastError ? {lastError: outcome.lastError} : {}),
        })
      }),
    // the lease is the process: held as long as it runs
    renewLeases: async (ids) => ids,
    /** After a crash, entries left `sending` are due again (a duplicate is possible, a loss is not). */
    recoverExpired: (now) =>
      store.transactAsync(() => {
        const stuck = listEntries(store, 'sending')
        for (const e of stuck) updateEntry(store, e, {state: 'queued', nextAttemptAt: now})
        return stuck.length
      }),
    entries: (state) => read(() => listEntries(store, state)),
    entry: (id) => read(() => store.queueEntries.get(id)),
    find: (given) => read(() => findEntry(store, given)),
    attempts: (id) => read(() => attemptsOf(store, id)),
    message: (entry) => read(() => store.blobs.get(entry.blobId)),
    nextDue: () => read(() => nextDue(store)),
    counts: () => read(() => Object.fromEntries(QUEUE_STATES.map((s) => [s, store.queueIndex.getKeysCount(queueStateRange(s))])) as Record<QueueState, number>),
    retry: (id) => change(id, DUE, 'retry', dueNow),
    hold: (id) => change(id, DUE, 'hold', () => ({state: 'held'})),
    release: (id) => change(id, ['held'], 'release', dueNow),
    failBegin: (id) => change(id, ['queued', 'deferred', 'held'], 'fail', () => ({state: 'held'})),
    failEnd: (id, rewrite) =>
      store.transactAsync(() => {
        const current = store.queueEntries.get(id)
        if (!current) throw deletedMeanwhile(id)
        return updateEntry(store, current, rewrite(current))
      }),
    retryAll: () => changeMany(store, ['deferred', 'queued'], () => true, dueNow),
    flush: (domain) => {
      const only = domain?.trim().toLowerCase()
      return changeMany(store, ['deferred'], (e) => only === undefined || e.domain === only, dueNow)
    },
    delete: (id) =>
      store.transactAsync(() => {
        const entry = findEntry(store, id)
        if (entry.state === 'sending') throw beingSent(entry.id)
        removeEntry(store, entry)
        if (!FINAL.includes(entry.state)) releaseBlob(store, entry.blobId)
        return entry
      }),
    purgeFinished: (before, limit) => store.transactAsync(() => purgeFinishedInTxn(store, before, limit)),
  }
}
