/**
 * A whole store as a stream of records, the same for both backends: what `mailbox store copy`
 * moves and `mailbox store verify` compares (docs/store-interface.md, "store copy as built").
 *
 * An exporter (./lmdb-transfer.ts, ./pg/transfer.ts) reads one consistent snapshot and yields
 * the records kind by kind in KINDS order, each kind in key order (byte order of the keys, as
 * both backends sort them), one record at a time: blob bytes are never all in memory. An
 * importer writes such a stream into an empty store in batches (`batches` below) in that order,
 * which is also the order of the foreign keys (blobs before the messages and queue entries that
 * use them, queue entries before their delivery log).
 *
 * Records keep every id, UID, UIDVALIDITY, UIDNEXT, MODSEQ, flag, date, blob reference and
 * queue state exactly, with one change made on export: an entry `sending` on the source is
 * `queued` in the stream, due no later than now, as the crash recovery of a starting node would
 * leave it (the copy is made while no node runs, so nobody is sending it).
 *
 * Not copied: the login throttle's failure counts and the cluster's node registry (both about
 * running nodes), greylisting's triplets (senders of the moment: each is greylisted once more),
 * the vacation replies sent (a correspondent may get one more auto-reply after a copy), PostgreSQL's expunge tombstones (LMDB keeps none; a copied folder's tombstone
 * floor is its HIGHESTMODSEQ, so a client that knew an older state resyncs it whole).
 */
import {createHash, type Hash} from 'node:crypto'
import type {AcmeAccount, StoredCertificate} from '../certs/types.js'
import {MailboxError} from '../errors.js'
import type {
  AliasRecord,
  BlobInfoRecord,
  CaptureRuleRecord,
  DeliveryAttemptRecord,
  DkimKeyRecord,
  DomainRecord,
  MailboxRecord,
  MessageRecord,
  QueueEntry,
  UserRecord,
} from './records.js'

/** the store's counters */
export interface StoreCounters {
  /** the last UIDVALIDITY given out: a recreated folder never reuses one */
  lastUidValidity: number
  /** the last folder id given out (LMDB's `lastMailboxId`, PostgreSQL's folder id sequence) */
  lastFolderId: number
  createdAt: number
}

export interface BlobTransfer {
  id: string
  bytes: Buffer
  info: BlobInfoRecord
  /** the cached search text, when it was extracted */
  text?: string
}

export interface MessageTransfer extends MessageRecord {
  folderId: number
}

/** a subscribed name (IMAP SUBSCRIBE), which need not be a folder */
export interface Subscription {
  user: string
  name: string
}

export interface FamiliarAddress {
  user: string
  network: string
  lastLogin: number
}

/** a user's Sieve script, with whether it is the active one */
export interface SieveScriptTransfer {
  user: string
  name: string
  content: string
  active: boolean
  updatedAt: number
}

/** a secret of `store.settings` (the SRS key): SRS addresses made before a copy still reverse after it */
export interface SecretTransfer {
  name: string
  /** base64 */
  value: string
}

/** what each kind of record carries */
export interface TransferValues {
  meta: StoreCounters
  domain: DomainRecord
  dkimKey: DkimKeyRecord
  user: UserRecord
  alias: AliasRecord
  folder: MailboxRecord
  subscription: Subscription
  blob: BlobTransfer
  message: MessageTransfer
  queueEntry: QueueEntry
  deliveryAttempt: DeliveryAttemptRecord
  captureRule: CaptureRuleRecord
  familiarAddress: FamiliarAddress
  sieveScript: SieveScriptTransfer
  secret: SecretTransfer
  certificate: StoredCertificate
  acmeAccount: AcmeAccount
}

export type Kind = keyof TransferValues

/** the stream's order: every record a later kind refers to comes earlier */
export const KINDS: readonly Kind[] = [
  'meta',
  'domain',
  'dkimKey',
  'user',
  'alias',
  'folder',
  'subscription',
  'blob',
  'message',
  'queueEntry',
  'deliveryAttempt',
  'captureRule',
  'familiarAddress',
  'sieveScript',
  'secret',
  'certificate',
  'acmeAccount',
]

/** how progress and summaries name each kind */
export const KIND_NAMES: Record<Kind, string> = {
  meta: 'counters',
  domain: 'domains',
  dkimKey: 'DKIM keys',
  user: 'users',
  alias: 'aliases',
  folder: 'folders',
  subscription: 'subscriptions',
  blob: 'blobs',
  message: 'messages',
  queueEntry: 'queue entries',
  deliveryAttempt: 'delivery log',
  captureRule: 'capture rules',
  familiarAddress: 'familiar addresses',
  sieveScript: 'Sieve scripts',
  secret: 'secrets',
  certificate: 'certificates',
  acmeAccount: 'ACME accounts',
}

export type TransferRecord = {[K in Kind]: {kind: K; value: TransferValues[K]}}[Kind]

/** records of one kind, and the message bytes they hold (blobs only) */
export interface KindCount {
  count: number
  bytes: number
}

export type KindCounts = Record<Kind, KindCount>

export const emptyCounts = (): KindCounts => Object.fromEntries(KINDS.map((k) => [k, {count: 0, bytes: 0}])) as KindCounts

/** where a backend keeps each kind of record besides the counters (the first place is the one counted) */
export type PlacesOf<T> = Record<Exclude<Kind, 'meta'>, T[]>

/** A snapshot's totals: `count` counts the first place of each kind; the message bytes come from `blobBytes`. */
export async function totalsOf<T>(places: PlacesOf<T>, count: (place: T) => number | Promise<number>, blobBytes: () => number | Promise<number>): Promise<KindCounts> {
  const totals = emptyCounts()
  totals.meta.count = 1
  for (const [kind, [first]] of Object.entries(places) as [Exclude<Kind, 'meta'>, T[]][]) totals[kind].count = first === undefined ? 0 : await count(first)
  totals.blob.bytes = await blobBytes()
  return totals
}

/** One consistent snapshot of a store, read by kind. */
export interface TransferSource {
  /** where it is: a data dir, or a URL without its password */
  readonly where: string
  /** how many records of each kind the snapshot holds (for progress: a total, not a promise) */
  totals(): Promise<KindCounts>
  /** every record, in KINDS order, each kind in key order */
  records(): AsyncIterable<TransferRecord>
  /** ends the snapshot */
  close(): Promise<void>
}

/** a store that can take a stream: refuses one that holds anything, before writing */
export interface TransferTarget {
  readonly where: string
  /** throws `exists` naming the first kind of record the store already holds */
  assertEmpty(): Promise<void>
  /** writes the stream in batches; `committed` hears of each batch once it is durable */
  write(records: AsyncIterable<TransferRecord>, committed: (batch: readonly TransferRecord[]) => void): Promise<void>
}

/** the message bytes a record holds: what counts and progress report */
export const payloadBytes = (r: TransferRecord): number => (r.kind === 'blob' ? r.value.bytes.length : 0)

/** what a record holds besides its fields (the search text too: up to 1 MiB a blob): what bounds a batch */
const heldBytes = (r: TransferRecord): number => (r.kind === 'blob' ? r.value.bytes.length + (r.value.text?.length ?? 0) * 2 : 0)

export interface BatchLimits {
  records: number
  bytes: number
}

/** a batch commits after this many records or payload bytes (a single larger blob is a batch of its own) */
export const DEFAULT_BATCH: BatchLimits = {records: 1000, bytes: 8 * 1024 * 1024}

/** Groups a stream into batches for one commit each: at most one batch is held in memory. */
export async function* batches(records: AsyncIterable<TransferRecord>, limits: BatchLimits = DEFAULT_BATCH): AsyncGenerator<TransferRecord[]> {
  let batch: TransferRecord[] = []
  let bytes = 0
  for await (const record of records) {
    const size = heldBytes(record)
    if (batch.length && (batch.length >= limits.records || bytes + size > limits.bytes)) {
      yield batch
      batch = []
      bytes = 0
    }
    batch.push(record)
    bytes += size
  }
  if (batch.length) yield batch
}

/** adds a batch to running counts */
export function countBatch(counts: KindCounts, batch: readonly TransferRecord[]): void {
  for (const r of batch) {
    counts[r.kind].count++
    counts[r.kind].bytes += payloadBytes(r)
  }
}

// ---------------------------------------------------------------------------------------------
// The records' shapes: both exporters give exactly these fields (an optional one absent rather
// than undefined or null, a flag that is false absent), so equal stores give equal streams.

const opt = <K extends string, V>(key: K, value: V | undefined | null): Partial<Record<K, V>> =>
  value === undefined || value === null ? {} : ({[key]: value} as Record<K, V>)

const shapeDomain = (r: DomainRecord): DomainRecord => ({name: r.name, createdAt: r.createdAt})

const shapeDkimKey = (r: DkimKeyRecord): DkimKeyRecord => ({
  domain: r.domain,
  selector: r.selector,
  algorithm: r.algorithm,
  privateKey: r.privateKey,
  publicKey: r.publicKey,
  state: r.state,
  createdAt: r.createdAt,
  ...opt('retiredAt', r.retiredAt),
})

const shapeUser = (r: UserRecord): UserRecord => ({
  address: r.address,
  passwordHash: r.passwordHash,
  quota: r.quota,
  ...(r.maxMessages ? {maxMessages: r.maxMessages} : {}),
  disabled: r.disabled,
  ...(r.capture ? {capture: true} : {}),
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
})

const shapeAlias = (r: AliasRecord): AliasRecord => ({alias: r.alias, targets: [...r.targets], createdAt: r.createdAt})

const shapeFolder = (r: MailboxRecord): MailboxRecord => ({
  id: r.id,
  user: r.user,
  name: r.name,
  uidValidity: r.uidValidity,
  uidNext: r.uidNext,
  highestModseq: r.highestModseq,
  subscribed: r.subscribed,
  ...opt('specialUse', r.specialUse),
  ...(r.noselect ? {noselect: true} : {}),
  messages: r.messages,
  unseen: r.unseen,
  size: r.size,
  createdAt: r.createdAt,
})

const shapeMessage = (folderId: number, r: MessageRecord): MessageTransfer => ({
  folderId,
  uid: r.uid,
  blobId: r.blobId,
  flags: [...r.flags],
  internalDate: r.internalDate,
  size: r.size,
  modseq: r.modseq,
})

const shapeBlobInfo = (r: BlobInfoRecord): BlobInfoRecord => ({
  refs: r.refs,
  size: r.size,
  createdAt: r.createdAt,
  ...opt('mailFrom', r.mailFrom),
  ...opt('rcptTo', r.rcptTo),
  ...opt('envelope', r.envelope),
  ...opt('structure', r.structure),
  ...opt('summary', r.summary),
  ...opt('crlfSize', r.crlfSize),
})

/**
 * A queue entry as copied: `sending` becomes `queued`, due no later than `now` (claims keep the
 * due time they were taken at, which is past already; `min` keeps two exports of one store equal).
 */
function shapeQueueEntry(r: QueueEntry, now: number): QueueEntry {
  const sending = r.state === 'sending'
  return {
    id: r.id,
    from: r.from,
    domain: r.domain,
    recipients: r.recipients.map((x) => ({address: x.address, state: x.state, ...opt('lastError', x.lastError)})),
    blobId: r.blobId,
    priority: r.priority,
    state: sending ? 'queued' : r.state,
    attempts: r.attempts,
    createdAt: r.createdAt,
    nextAttemptAt: sending ? Math.min(r.nextAttemptAt, now) : r.nextAttemptAt,
    ...opt('lastError', r.lastError),
  }
}

const shapeDeliveryAttempt = (r: DeliveryAttemptRecord): DeliveryAttemptRecord => ({
  queueId: r.queueId,
  attempt: r.attempt,
  startedAt: r.startedAt,
  endedAt: r.endedAt,
  host: r.host,
  result: r.result,
  transcript: [...r.transcript],
  ...opt('tls', r.tls),
})

const shapeCaptureRule = (r: CaptureRuleRecord): CaptureRuleRecord => ({
  id: r.id,
  to: r.to,
  reply: r.reply,
  stage: r.stage,
  ...opt('remaining', r.remaining),
  createdAt: r.createdAt,
})

const shapeSieveScript = (r: SieveScriptTransfer): SieveScriptTransfer => ({user: r.user, name: r.name, content: r.content, active: r.active, updatedAt: r.updatedAt})

const shapeCertificate = (r: StoredCertificate): StoredCertificate => ({
  names: [...r.names],
  certPem: r.certPem,
  keyPem: r.keyPem,
  notBefore: r.notBefore,
  notAfter: r.notAfter,
  issuer: r.issuer,
  source: r.source,
  ...opt('directory', r.directory),
  updatedAt: r.updatedAt,
})

const shapeAcmeAccount = (r: AcmeAccount): AcmeAccount => ({directory: r.directory, keyPem: r.keyPem, ...opt('url', r.url), ...opt('email', r.email)})

/** the records' shapes by kind, for the exporters */
export const shape = {
  domain: shapeDomain,
  dkimKey: shapeDkimKey,
  user: shapeUser,
  alias: shapeAlias,
  folder: shapeFolder,
  message: shapeMessage,
  blobInfo: shapeBlobInfo,
  queueEntry: shapeQueueEntry,
  deliveryAttempt: shapeDeliveryAttempt,
  captureRule: shapeCaptureRule,
  sieveScript: shapeSieveScript,
  certificate: shapeCertificate,
  acmeAccount: shapeAcmeAccount,
}

/** the refusal of a destination that holds records of `kind` */
export const notEmptyError = (where: string, kind: Kind): MailboxError =>
  new MailboxError('exists', `the destination ${where} is not empty (it holds ${KIND_NAMES[kind]}): store copy writes only into an empty store`)

/** an exporter finding a blob's record without its bytes */
export const missingBytesError = (where: string, blobId: string): MailboxError =>
  new MailboxError('conflict', `blob ${blobId} in ${where} has its record but no bytes: the store is damaged`)

/**
 * An importer's loop: the stream in batches, each written and made durable by `commit`, then
 * reported to `committed`. Returns the counters record (the importer sets the counters last).
 */
export async function commitBatches(
  records: AsyncIterable<TransferRecord>,
  commit: (batch: TransferRecord[]) => Promise<void>,
  committed: (batch: readonly TransferRecord[]) => void,
): Promise<StoreCounters | undefined> {
  let counters: StoreCounters | undefined
  for await (const batch of batches(records)) {
    await commit(batch)
    for (const r of batch) if (r.kind === 'meta') counters = r.value
    committed(batch)
  }
  return counters
}

// ---------------------------------------------------------------------------------------------
// Digests: what `store verify` compares

export interface KindDigest extends KindCount {
  /** sha256 (hex) over the canonical encoding of every record of the kind, in stream order, blob bytes included */
  sha256: string
}

export type StoreDigest = Record<Kind, KindDigest>

/**
 * JSON with object keys sorted and undefined left out, at every depth: PostgreSQL's jsonb keeps
 * neither the key order nor undefined, so only this form compares across backends.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
}

/** Digests a stream as it passes: each kind's count, payload bytes and sha256. */
export class DigestBuilder {
  private readonly hashes = new Map<Kind, Hash>()
  private readonly counts = emptyCounts()

  add(record: TransferRecord): void {
    let hash = this.hashes.get(record.kind)
    if (!hash) this.hashes.set(record.kind, (hash = createHash('sha256')))
    const update = (part: string | Buffer) => {
      // length-prefixed, so no two different records encode the same
      hash!.update(`${Buffer.byteLength(part)}:`)
      hash!.update(part)
    }
    if (record.kind === 'blob') {
      const {bytes, ...rest} = record.value
      update(canonicalJson(rest))
      update(bytes)
    } else {
      update(canonicalJson(record.value))
    }
    this.counts[record.kind].count++
    this.counts[record.kind].bytes += payloadBytes(record)
  }

  result(): StoreDigest {
    const empty = createHash('sha256').digest('hex')
    return Object.fromEntries(KINDS.map((k) => [k, {...this.counts[k], sha256: this.hashes.get(k)?.copy().digest('hex') ?? empty}])) as StoreDigest
  }
}

/** passes a stream through, digesting it */
export async function* digesting(records: AsyncIterable<TransferRecord>, digest: DigestBuilder): AsyncGenerator<TransferRecord> {
  for await (const record of records) {
    digest.add(record)
    yield record
  }
}

/** the digest of a whole snapshot */
export async function digestOf(source: TransferSource): Promise<StoreDigest> {
  const digest = new DigestBuilder()
  for await (const record of source.records()) digest.add(record)
  return digest.result()
}

/** the first kind (in KINDS order) whose count or digest differs, if any */
export function firstDifference(a: StoreDigest, b: StoreDigest): Kind | undefined {
  return KINDS.find((k) => a[k].count !== b[k].count || a[k].sha256 !== b[k].sha256)
}
