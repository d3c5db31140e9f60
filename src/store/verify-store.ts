/**
 * `mailbox verify` over an opened store of either backend: the snapshot's facts through the
 * checker (./verify.ts), then, asked to, the repairs (./verify-repair.ts). Nothing is locked: a
 * running server goes on serving while its store is read and repaired.
 */
import type {MailboxStore} from './backend.js'
import {isPgStore} from './open.js'
import type {Store} from './store.js'
import {type Breach, checkFacts, type FactKind, type FactSource} from './verify.js'
import {type Repair, repairBreaches, type StoreRepairs} from './verify-repair.js'

export interface VerifyOptions {
  repair?: boolean
  /** facts read so far of all the snapshot holds */
  reading?: (done: number, total: number) => void
  /** repairs done so far */
  repairing?: (done: number, total: number) => void
}

export interface VerifyReport {
  store: string
  /** records read, by kind */
  checked: Partial<Record<FactKind, number>>
  breaches: Breach[]
  /** with `repair`: what each repair did */
  repairs?: Repair[]
}

/** a backend's snapshot reader and repairs */
export interface Verifier {
  facts(): Promise<FactSource>
  repairs: StoreRepairs
  keepsIndex: boolean
}

export async function verifierOf(store: MailboxStore): Promise<Verifier> {
  if (isPgStore(store)) {
    // loaded only here: an LMDB verify does not load the PostgreSQL client
    const {pgFacts, pgRepairs} = await import('./pg/verify.js')
    return {facts: () => pgFacts(store.pool), repairs: pgRepairs(store.pool), keepsIndex: false}
  }
  const {lmdbFacts, lmdbRepairs} = await import('./lmdb-verify.js')
  const lmdb = store as Store
  return {facts: async () => lmdbFacts(lmdb), repairs: lmdbRepairs(lmdb), keepsIndex: true}
}

export async function verifyStore(store: MailboxStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const verifier = await verifierOf(store)
  const source = await verifier.facts()
  let found: Awaited<ReturnType<typeof checkFacts>>
  try {
    found = await checkFacts(source, {keepsIndex: verifier.keepsIndex, ...(options.reading ? {progress: options.reading} : {})})
  } finally {
    await source.close()
  }
  const report: VerifyReport = {store: store.path, checked: found.counts, breaches: found.breaches}
  if (options.repair) report.repairs = await repairBreaches(found.breaches, verifier.repairs, options.repairing)
  return report
}
