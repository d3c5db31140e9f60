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
import type {MailboxRecord, QueueEntry} from '../store/records.js'
import type {Store} from '../store/store.js'
import type {Analysis} from './analyze.js'
import {INBOX, newFolder} from './folders.js'

export interface StoredCopy {
  user: string
  folder: string
  uid: number
  uidValidity: number
}

export interface DeliveryInput {
  /** bytes for local copies (Return-Path and Received already prepended) */
  localRaw: Buffer
  /** bytes for the queue (Received only), when there are remote recipients */
  remoteRaw?: Buffer
  analysis: Analysis
  mailFrom: string
  /** the envelope recipients as given, kept with the blob */
  rcptTo: string[]
  local: string[]
  remote: string[]
  /** capture mode: a recipient with no user gets one (no password, INBOX only) */
  createUsers?: boolean
}

export interface DeliveryResult {
  id: string
  stored: StoredCopy[]
  queued: QueueEntry[]
}

function putBlob(store: Store, raw: Buffer, input: DeliveryInput, refs: number): string {
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
  })
  return blobId
}

function ensureCaptureUser(store: Store, address: string): void {
  if (store.users.get(address)) return
  const now = Date.now()
  store.users.putSync(address, {address, passwordHash: '', quota: 0, disabled: false, capture: true, createdAt: now, updatedAt: now})
  newFolder(store, address, INBOX)
}

/**
 * Appends a message entry for an existing blob to a folder: allocates the UID and a MODSEQ and
 * updates the folder's counters. Call inside a write transaction.
 */
export function appendEntry(store: Store, folder: MailboxRecord, blobId: string, size: number, flags: string[] = [], internalDate = Date.now()): StoredCopy {
  const uid = folder.uidNext
  const modseq = folder.highestModseq + 1
  store.messages.putSync(messageKey(folder.id, uid), {uid, blobId, flags, internalDate, size, modseq})
  store.mailboxes.putSync(mailboxKey(folder.user, folder.name), {
    ...folder,
    uidNext: uid + 1,
    highestModseq: modseq,
    messages: folder.messages + 1,
    unseen: folder.unseen + (flags.includes('\\Seen') ? 0 : 1),
    size: folder.size + size,
  })
  return {user: folder.user, folder: folder.name, uid, uidValidity: folder.uidValidity}
}

export async function deliver(store: Store, input: DeliveryInput): Promise<DeliveryResult> {
  const local = [...new Set(input.local)]
  return store.transactAsync(() => {
    const stored: StoredCopy[] = []
    let id = ''
    if (local.length) {
      const blobId = putBlob(store, input.localRaw, input, local.length)
      id = blobId
      for (const user of local) {
        if (input.createUsers) ensureCaptureUser(store, user)
        const inbox = store.mailboxes.get(mailboxKey(user, INBOX))
        if (!inbox) throw new MailboxError('not-found', `no INBOX for ${user}`)
        stored.push(appendEntry(store, inbox, blobId, input.localRaw.length))
      }
    }
    let queued: QueueEntry[] = []
    if (input.remote.length) {
      const raw = input.remoteRaw ?? input.localRaw
      const domains = new Set(input.remote.map((r) => r.slice(r.lastIndexOf('@') + 1))).size
      const blobId = putBlob(store, raw, input, domains)
      id ||= blobId
      queued = enqueueInTxn(store, {from: input.mailFrom, recipients: input.remote, blobId})
    }
    return {id, stored, queued}
  })
}
