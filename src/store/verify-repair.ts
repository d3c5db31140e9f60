/**
 * `mailbox verify --repair`: what can be derived from the store is put right, one small
 * transaction per repair, each checking its fact again inside (a live server may have changed it
 * since the snapshot). Mail is never deleted: a message whose blob or folder is gone, or a blob
 * whose bytes are gone, is reported and left for the administrator (restore from a backup).
 */
import type {Breach, QueueIndexKey} from './verify.js'

/** a folder as the snapshot named it: a repair refuses when the name now holds another id (renamed, deleted) */
export interface FolderName {
  user: string
  folder: string
  folderId: number
}

export type RepairOutcome = {done: true; before?: unknown; after?: unknown} | {done: false; why: string}

/** the fact is no longer what the snapshot saw */
export const CHANGED: RepairOutcome = {done: false, why: 'changed since the snapshot (run verify again)'}

/** Repair operations: one transaction each, in both backends (./lmdb-verify.ts, ./pg/verify.ts). */
export interface StoreRepairs {
  /** the last folder id and UIDVALIDITY given out raised to at least every folder's (read inside) */
  raiseCounters(): Promise<RepairOutcome>
  /** the folder's messages, unseen and size counted from its entries, UIDNEXT above and HIGHESTMODSEQ at least its entries', `subscribed` as the subscriptions say */
  repairFolder(folder: FolderName): Promise<RepairOutcome>
  /**
   * the blob's refs made what its users are: `seen` is the snapshot's refs and users; operations
   * since then moved both alike, so the refs now less the drift seen. None left: the blob goes.
   */
  repairBlobRefs(blobId: string, seen: {refs: number; uses: number}): Promise<RepairOutcome>
  /** bytes (and search text) without an info record: removed while they still have none */
  removeOrphanBytes(blobId: string): Promise<RepairOutcome>
  /** a delivery log record of a queue entry that does not exist: removed while it still does not */
  removeOrphanAttempt(queueId: string, attempt: number): Promise<RepairOutcome>
  /** LMDB's queue index: a key that is not its entry's current one goes */
  removeIndexKey(key: QueueIndexKey): Promise<RepairOutcome>
  /** LMDB's queue index: the entry's current key is added */
  addIndexKey(queueId: string): Promise<RepairOutcome>
}

export interface Repair {
  /** the breaches this repair was for (one folder repair mends all of that folder's) */
  breaches: Breach[]
  outcome: RepairOutcome
  text: string
}

const FOLDER_KINDS = new Set<Breach['kind']>(['folder-counters', 'uidnext', 'highestmodseq', 'subscribed'])
const COUNTER_KINDS = new Set<Breach['kind']>(['last-folder-id', 'last-uidvalidity'])

function operation(b: Breach, repairs: StoreRepairs): (() => Promise<RepairOutcome>) | undefined {
  switch (b.kind) {
    case 'blob-refs':
    case 'orphan-blob':
      return () => repairBlobRefs(b, repairs)
    case 'bytes-without-info':
      return () => repairs.removeOrphanBytes(b.blobId!)
    case 'orphan-delivery-log':
      return () => repairs.removeOrphanAttempt(b.queueId!, b.attempt!)
    case 'queue-index-stale':
      return () => repairs.removeIndexKey(b.indexKey!)
    case 'queue-index-missing':
      return () => repairs.addIndexKey(b.queueId!)
    default:
      return undefined
  }
}

const repairBlobRefs = (b: Breach, repairs: StoreRepairs) => repairs.repairBlobRefs(b.blobId!, {refs: b.found as number, uses: b.expected as number})

function describe(breaches: Breach[], outcome: RepairOutcome): string {
  const first = breaches[0]!
  const what =
    first.folderId !== undefined && FOLDER_KINDS.has(first.kind)
      ? `${first.user} ${JSON.stringify(first.folder)} (id ${first.folderId}): ${breaches.map((b) => b.kind).join(', ')}`
      : COUNTER_KINDS.has(first.kind)
        ? `the store's counters: ${breaches.map((b) => b.kind).join(', ')}`
        : first.text
  if (!outcome.done) return `not repaired: ${what}: ${outcome.why}`
  const change = outcome.after !== undefined && typeof outcome.after !== 'object' ? ` (${String(outcome.before)} → ${String(outcome.after)})` : ''
  const verb = {'orphan-blob': 'removed', 'bytes-without-info': 'removed', 'orphan-delivery-log': 'removed', 'queue-index-stale': 'removed', 'queue-index-missing': 'added'}[first.kind as string] ?? 'repaired'
  return `${verb}: ${what}${change}`
}

/** Repairs every derivable breach, in the order given; what is not derivable is left (and stays reported). */
export async function repairBreaches(breaches: readonly Breach[], repairs: StoreRepairs, progress?: (done: number, total: number) => void): Promise<Repair[]> {
  const jobs: {breaches: Breach[]; run: () => Promise<RepairOutcome>}[] = []
  const byFolder = new Map<number, Breach[]>()
  const counters = breaches.filter((b) => COUNTER_KINDS.has(b.kind))
  if (counters.length) jobs.push({breaches: counters, run: () => repairs.raiseCounters()})
  for (const b of breaches) {
    if (!b.derivable || COUNTER_KINDS.has(b.kind)) continue
    if (FOLDER_KINDS.has(b.kind)) {
      const group = byFolder.get(b.folderId!)
      if (group) group.push(b)
      else {
        const folder = {user: b.user!, folder: b.folder!, folderId: b.folderId!}
        const fresh = [b]
        byFolder.set(b.folderId!, fresh)
        jobs.push({breaches: fresh, run: () => repairs.repairFolder(folder)})
      }
      continue
    }
    const run = operation(b, repairs)
    if (run) jobs.push({breaches: [b], run})
  }
  const done: Repair[] = []
  for (const job of jobs) {
    const outcome = await job.run()
    done.push({breaches: job.breaches, outcome, text: describe(job.breaches, outcome)})
    progress?.(done.length, jobs.length)
  }
  return done
}
