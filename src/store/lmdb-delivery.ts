/**
 * Local delivery on LMDB: the message bytes are stored once as a blob, and one message entry per
 * (user, folder) points at it; remote recipients get queue entries on a blob of their own
 * (without our Return-Path, which only belongs to final delivery). All of it is one write
 * transaction (./lmdb-mail.ts commits it asynchronously): when `deliver` resolves, every copy
 * exists; if it throws, none does.
 */
import {MailboxError} from '../errors.js'
import {INBOX} from '../mailstore/folder-rules.js'
import {enqueueInTxn} from './lmdb-enqueue.js'
import type {DeliveryInput, DeliveryResult, FolderChange, StoredCopy} from './backend.js'
import {mailboxKey} from './keys.js'
import {putBlob} from './lmdb-blobs.js'
import {putCaptureUserInTxn} from './lmdb-directory.js'
import {junkFolder, newFolder} from './lmdb-folders.js'
import {appendEntries} from './lmdb-messages.js'
import type {QueueEntry} from './records.js'
import type {Store} from './store.js'

/** capture mode: a recipient with no user gets one, with INBOX only */
function ensureCaptureUser(store: Store, address: string): void {
  if (putCaptureUserInTxn(store, address)) newFolder(store, address, INBOX)
}

const copyOf = (change: FolderChange): StoredCopy => ({
  user: change.folder.user,
  folder: change.folder.name,
  uid: change.appended![0]!.uid,
  uidValidity: change.folder.uidValidity,
})

/** `local` without duplicates */
export function deliverIn(store: Store, input: DeliveryInput, local: string[]): DeliveryResult {
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
}
