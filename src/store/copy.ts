/**
 * `mailbox store copy` and `mailbox store verify`: a whole store from one place to another
 * (a data dir's LMDB store or a PostgreSQL database, either way), then both compared record by
 * record through digests (./transfer.ts).
 *
 * Nobody may serve the source while it is copied (what changed after the snapshot would stay
 * behind) nor the destination (it must be empty, and is being written): an LMDB data dir is held
 * by its pid lock for the copy (`serve` refuses to start on it, and a running `serve` makes the
 * copy refuse); a PostgreSQL database has no such lock, so the copy refuses while its `nodes`
 * table shows a live node, unless forced.
 */
import {resolve} from 'node:path'
import {MailboxError} from '../errors.js'
import {lockForOfflineWork} from '../pidlock.js'
import {lmdbSource, lmdbTarget} from './lmdb-transfer.js'
import {describeStoreUrl, type PgStorePool} from './pg/connect.js'
import {DEFAULT_NODE_TIMINGS} from './pg/nodes.js'
import {openPgDatabase} from './pg/open.js'
import {pgSource, pgTarget} from './pg/transfer.js'
import {ensureDataDir, noStoreError, openStore, type Store, storeExists} from './store.js'
import {
  countBatch,
  DigestBuilder,
  digesting,
  digestOf,
  emptyCounts,
  firstDifference,
  KIND_NAMES,
  type Kind,
  type KindCounts,
  type StoreDigest,
  type TransferRecord,
  type TransferSource,
  type TransferTarget,
} from './transfer.js'

export type StoreLocation = {type: 'lmdb'; dataDir: string} | {type: 'pg'; url: string}

/** `postgres://…` or `postgresql://…` is a database (checked here: a bad URL is refused before anything opens); anything else a data dir */
export function parseLocation(text: string): StoreLocation {
  if (/^postgres(ql)?:/i.test(text)) {
    describeStoreUrl(text)
    return {type: 'pg', url: text}
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new MailboxError('invalid', `${text.split('://')[0]}:// is no store: give a data directory or a postgres:// URL`)
  return {type: 'lmdb', dataDir: resolve(text)}
}

/** what output and errors show: the data dir, or the URL without its password */
export const describeLocation = (l: StoreLocation): string => (l.type === 'lmdb' ? l.dataDir : describeStoreUrl(l.url))

/** connections a copy needs: the export's snapshot, the import's transactions, a digest */
const POOL_SIZE = 4

/** An opened store: a snapshot to read, a target to write, and `close()` (which also lets go of the lock). */
interface Endpoint {
  readonly where: string
  snapshot(): Promise<TransferSource>
  target(): TransferTarget
  close(): Promise<void>
}

/**
 * `copy-from`: a store that must exist, locked against `serve` (LMDB) or checked for live nodes;
 * `copy-to`: the same, created when missing; `read`: only read (verify), no lock taken.
 */
type Role = 'copy-from' | 'copy-to' | 'read'

async function openEndpoint(location: StoreLocation, role: Role, force: boolean): Promise<Endpoint> {
  const where = describeLocation(location)
  if (location.type === 'lmdb') {
    const {dataDir} = location
    if (role !== 'copy-to' && !storeExists(dataDir)) throw noStoreError(dataDir)
    if (role === 'copy-to') ensureDataDir(dataDir)
    const unlock = role === 'read' ? () => {} : lockForOfflineWork(dataDir, 'copying (store copy needs the store to itself)')
    let store: Store
    try {
      store = openStore(dataDir, {readOnly: role === 'copy-from', create: role === 'copy-to'})
    } catch (err) {
      unlock()
      throw err
    }
    return {
      where,
      snapshot: async () => lmdbSource(store, where),
      target: () => lmdbTarget(store, where),
      close: async () => {
        await store.close()
        unlock()
      },
    }
  }
  const db = await openPgDatabase(location.url, {poolSize: POOL_SIZE})
  try {
    if (role !== 'read' && !force) await refuseLiveNodes(db)
  } catch (err) {
    await db.close()
    throw err
  }
  return {
    where,
    snapshot: () => pgSource(db.pool, where),
    target: () => pgTarget(db.pool, where),
    close: () => db.close(),
  }
}

/** nodes that heartbeat within the stale bound are serving this database */
async function refuseLiveNodes(db: PgStorePool): Promise<void> {
  const {rows} = await db.pool.query('SELECT id FROM nodes WHERE heartbeat > now() - $1 * interval \'1 millisecond\' ORDER BY id', [DEFAULT_NODE_TIMINGS.staleAfterMs])
  if (rows.length === 0) return
  const ids = rows.map((r: {id: string}) => r.id)
  throw new MailboxError(
    'conflict',
    `${db.where} is in use by ${ids.length} running node${ids.length === 1 ? '' : 's'} (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''}): stop them before copying, or give --force if they are gone`,
  )
}

async function withSnapshot<T>(endpoint: Endpoint, fn: (source: TransferSource) => Promise<T>): Promise<T> {
  const source = await endpoint.snapshot()
  try {
    return await fn(source)
  } finally {
    await source.close()
  }
}

/** What progress hears: the records and bytes written so far by kind, the snapshot's totals, and the kind being written. */
export type CopyProgress = (written: KindCounts, totals: KindCounts, current: Kind) => void

export interface CopyOptions {
  /** copy from or to a PostgreSQL database even though its node registry shows live nodes */
  force?: boolean
  /**
   * the source may be served meanwhile (`mailbox backup`): its snapshot is consistent by itself,
   * so it is read without its lock and without refusing its live nodes
   */
  servedSource?: boolean
  /** compare the two stores afterwards (default true) */
  verify?: boolean
  /** called once with the totals before anything is written */
  started?: (totals: KindCounts) => void
  /** after each committed batch */
  progress?: CopyProgress
  /** once everything is written, before the verification */
  written?: (copied: KindCounts) => void
}

export interface VerifyResult {
  from: string
  to: string
  equal: boolean
  /** the first kind that differs, in stream order */
  difference?: {kind: Kind; name: string}
  digests: {from: StoreDigest; to: StoreDigest}
}

export interface CopySummary {
  from: string
  to: string
  /** records and bytes written, by kind */
  copied: KindCounts
  seconds: number
  /** absent with verify off */
  verify?: VerifyResult
}

function compare(from: string, to: string, a: StoreDigest, b: StoreDigest): VerifyResult {
  const kind = firstDifference(a, b)
  return {from, to, equal: kind === undefined, ...(kind ? {difference: {kind, name: KIND_NAMES[kind]}} : {}), digests: {from: a, to: b}}
}

/** the refusal of a verification that found a difference */
export function differenceError(result: VerifyResult): MailboxError {
  const kind = result.difference!.kind
  const [a, b] = [result.digests.from[kind], result.digests.to[kind]]
  const what = a.count === b.count ? `the same number (${a.count}) but different contents` : `${a.count} in ${result.from}, ${b.count} in ${result.to}`
  return new MailboxError('conflict', `the stores differ in ${KIND_NAMES[kind]}: ${what}`)
}

function refuseSame(from: StoreLocation, to: StoreLocation): void {
  const same = from.type === 'lmdb' && to.type === 'lmdb' ? from.dataDir === to.dataDir : from.type === 'pg' && to.type === 'pg' && from.url === to.url
  if (same) throw new MailboxError('invalid', 'the source and the destination are the same store')
}

/**
 * Copies every record of `from` into the empty store `to`, then (unless `verify: false`)
 * compares the copy with what was read: the digest of the source's snapshot, taken while it was
 * copied, against a fresh read of the destination.
 */
export async function copyStore(from: StoreLocation, to: StoreLocation, options: CopyOptions = {}): Promise<CopySummary> {
  refuseSame(from, to)
  const started = Date.now()
  const source = await openEndpoint(from, options.servedSource ? 'read' : 'copy-from', options.force ?? false)
  try {
    const dest = await openEndpoint(to, 'copy-to', options.force ?? false)
    try {
      const target = dest.target()
      await target.assertEmpty()
      const copied = emptyCounts()
      const sourceDigest = new DigestBuilder()
      await withSnapshot(source, async (snapshot) => {
        const totals = await snapshot.totals()
        options.started?.(totals)
        let written = false
        try {
          await target.write(digesting(snapshot.records(), sourceDigest), (batch: readonly TransferRecord[]) => {
            written = true
            countBatch(copied, batch)
            options.progress?.(copied, totals, batch[batch.length - 1]!.kind)
          })
        } catch (err) {
          if (!written || !(err instanceof Error)) throw err
          const message = `${err.message} (${dest.where} is now partly written: empty it before copying again)`
          throw err instanceof MailboxError ? new MailboxError(err.code, message) : new Error(message)
        }
      })
      options.written?.(copied)
      const summary: CopySummary = {from: source.where, to: dest.where, copied, seconds: (Date.now() - started) / 1000}
      if (options.verify === false) return summary
      const destDigest = await withSnapshot(dest, digestOf)
      summary.verify = compare(source.where, dest.where, sourceDigest.result(), destDigest)
      summary.seconds = (Date.now() - started) / 1000
      return summary
    } finally {
      await dest.close()
    }
  } finally {
    await source.close()
  }
}

/** Compares two stores: per kind, the count and digest of every record. Nothing is locked or written. */
export async function verifyStores(from: StoreLocation, to: StoreLocation): Promise<VerifyResult> {
  const a = await openEndpoint(from, 'read', false)
  try {
    const b = await openEndpoint(to, 'read', false)
    try {
      const [da, db] = await Promise.all([withSnapshot(a, digestOf), withSnapshot(b, digestOf)])
      return compare(a.where, b.where, da, db)
    } finally {
      await b.close()
    }
  } finally {
    await a.close()
  }
}
