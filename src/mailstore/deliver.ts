/**
 * Local delivery: the message bytes are stored once as a blob, and one message entry per
 * (user, folder) points at it; remote recipients get queue entries on a blob of their own
 * (without our Return-Path, which only belongs to final delivery). All of it is one durable
 * commit: when `deliver` resolves, every copy exists; if it throws, none does.
 */
import {MailboxError} from '../errors.js'
import {newId} from '../ids.js'
import {enqueueInTxn} from '../queue/entries.js'
import {mailboxKey, messageKey} from '../store/keys.js'
import {putCaptureUserInTxn} from '../store/lmdb-directory.js'
import type {MailboxRecord, MessageRecord, QueueEntry} from '../store/records.js'
import type {Store} from '../store/store.js'
import type {Analysis} from './analyze.js'
import {INBOX} from './folder-rules.js'
import {junkFolder, newFolder} from './folders.js'

export interface StoredCopy {
  user: string
  folder: string
  uid: number
  uidValidity: number
}

/** What one commit did to one folder: the mailbox views cache (./mailbox-view.ts) replays it. */
export interface FolderChange {
  /** the folder record after the commit */
  folder: MailboxRecord
  /** its HIGHESTMODSEQ before the commit: a cached view at another value is stale */
  modseqBefore: number
  appended?: MessageRecord[]
  updated?: MessageRecord[]
  expunged?: number[]
}

export interface DeliveryInput {
  /** bytes for local copies (Return-Path and Received already prepended) */
  localRaw: Buffer
  /** bytes for the queue (Received only), when there are remote recipients */
  remoteRaw?: Buffer
  analysis: Analysis
  /** the analysis of `remoteRaw`, when it differs from `localRaw` */
  remoteAnalysis?: Analysis
  mailFrom: string
  /** the envelope recipients as given, kept with the blob */
  rcptTo: string[]
  local: string[]
  remote: string[]
  /** capture mode: a recipient with no user gets one (no password, INBOX only) */
  createUsers?: boolean
  /** local copies go to each user's Junk folder instead of INBOX (see junkFolder) */
  junk?: boolean
}

export interface DeliveryResult {
  id: string
  stored: StoredCopy[]
  queued: QueueEntry[]
  changes: FolderChange[]
}

/** Stores new message bytes with their analysis and `refs` references; inside a write transaction. */
export function putBlob(store: Store, raw: Buffer, input: {analysis: Analysis; mailFrom?: string; rcptTo?: string[]}, refs: number): string {
  const blobId = newId()
  const {analysis, mailFrom, rcptTo} = input
  store.blobs.putSync(blobId, raw)
  store.blobInfo.putSync(blobId, {
    refs,
    size: raw.length,
    createdAt: Date.now(),
    mailFrom,
    rcptTo,
    envelope: analysis.envelope,
    structure: analysis.structure,
    summary: analysis.summary,
    crlfSize: analysis.crlfSize,
  })
  return blobId
}

function ensureCaptureUser(store: Store, address: string): void {
  if (putCaptureUserInTxn(store, address)) newFolder(store, address, INBOX)
}

export interface NewEntry {
  blobId: string
  size: number
  flags?: string[]
  internalDate?: number
}

/**
 * Appends message entries for existing blobs to a folder: allocates UIDs and MODSEQs in order and
 * updates the folder's counters once. Call inside a write transaction.
 */
export function appendEntries(store: Store, folder: MailboxRecord, entries: NewEntry[]): FolderChange {
  let {uidNext, highestModseq, messages, unseen, size} = folder
  const appended: MessageRecord[] = []
  for (const e of entries) {
    const flags = e.flags ?? []
    const record: MessageRecord = {uid: uidNext++, blobId: e.blobId, flags, internalDate: e.internalDate ?? Date.now(), size: e.size, modseq: ++highestModseq}
    store.messages.putSync(messageKey(folder.id, record.uid), record)
    appended.push(record)
    messages++
    size += e.size
    if (!flags.includes('\\Seen')) unseen++
  }
  const after = {...folder, uidNext, highestModseq, messages, unseen, size}
  store.mailboxes.putSync(mailboxKey(folder.user, folder.name), after)
  return {folder: after, modseqBefore: folder.highestModseq, appended}
}

const copyOf = (change: FolderChange): StoredCopy => ({
  user: change.folder.user,
  folder: change.folder.name,
  uid: change.appended![0]!.uid,
  uidValidity: change.folder.uidValidity,
})

export async function deliver(store: Store, input: DeliveryInput): Promise<DeliveryResult> {
  const local = [...new Set(input.local)]
  return store.transactAsync(() => {
    const changes: FolderChange[] = []
    let id = ''
    if (local.length) {
      const blobId = putBlob(store, input.localRaw, input, local.length)
      id = blobId
      for (const user of local) {
        if (input.createUsers) ensureCaptureUser(store, user)
        const folder = input.junk ? junkFolder(store, user) : store.mailboxes.get(mailboxKey(user, INBOX))
        if (!folder) throw new MailboxError('not-found', `no INBOX for ${user}`)
        changes.push(appendEntries(store, folder, [{blobId, size: input.localRaw.length}]))
      }
    }
    let queued: QueueEntry[] = []
    if (input.remote.length) {
      const raw = input.remoteRaw ?? input.localRaw
      const domains = new Set(input.remote.map((r) => r.slice(r.lastIndexOf('@') + 1))).size
      const blobId = putBlob(store, raw, {...input, analysis: input.remoteAnalysis ?? input.analysis}, domains)
      id ||= blobId
      queued = enqueueInTxn(store, {from: input.mailFrom, recipients: input.remote, blobId})
    }
    return {id, stored: changes.map(copyOf), queued, changes}
  })
}
