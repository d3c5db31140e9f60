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
import type {DeliveryInput, DeliveryResult, FolderChange, Placement, StoredCopy} from './backend.js'
import {mailboxKey} from './keys.js'
import {putBlob} from './lmdb-blobs.js'
import {putCaptureUserInTxn} from './lmdb-directory.js'
import {createFolderIn, junkFolder, newFolder} from './lmdb-folders.js'
import {newId} from '../ids.js'
import {mergeFlags, placementName} from './placements.js'
import {appendEntries} from './lmdb-messages.js'
import type {MailboxRecord, QueueEntry} from './records.js'
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

/**
 * The folders of one user's copies with their flags: the placements (a Sieve script's outcome),
 * else INBOX (or Junk). Two placements that end in one folder make one copy with both flag sets.
 */
function targetsOf(store: Store, input: DeliveryInput, user: string): {folder: MailboxRecord; flags: string[]}[] {
  const placements = input.junk ? undefined : input.placements?.[user]
  if (!placements) {
    const folder = input.junk ? junkFolder(store, user) : store.mailboxes.get(mailboxKey(user, INBOX))
    if (!folder) throw new MailboxError('not-found', `no INBOX for ${user}`)
    return [{folder, flags: []}]
  }
  const byId = new Map<number, {folder: MailboxRecord; flags: string[]}>()
  for (const p of placements) {
    const folder = placedFolder(store, user, p)
    const seen = byId.get(folder.id)
    byId.set(folder.id, {folder, flags: seen ? mergeFlags(seen.flags, p.flags) : p.flags})
  }
  return [...byId.values()]
}

/** the folder a placement names, made when it says `create`, else INBOX when there is no such folder */
function placedFolder(store: Store, user: string, p: Placement): MailboxRecord {
  const name = placementName(p.folder)
  const found = name === undefined ? undefined : store.mailboxes.get(mailboxKey(user, name))
  if (found && !found.noselect) return found
  if (name !== undefined && p.create) return createFolderIn(store, user, name)
  const inbox = store.mailboxes.get(mailboxKey(user, INBOX))
  if (!inbox) throw new MailboxError('not-found', `no INBOX for ${user}`)
  return inbox
}

/** `local` without duplicates */
export function deliverIn(store: Store, input: DeliveryInput, local: string[]): DeliveryResult {
  const changes: FolderChange[] = []
  let id = ''
  if (local.length) {
    if (input.createUsers) for (const user of local) ensureCaptureUser(store, user)
    const targets = local.flatMap((user) => targetsOf(store, input, user))
    if (targets.length) {
      const blobId = putBlob(store, input.localRaw, input, targets.length)
      id = blobId
      for (const {folder, flags} of targets) {
        // a folder appended to twice in one commit (two users' placements never share one): the
        // latest record; one target is the record just read in this transaction
        const latest = targets.length === 1 ? folder : (store.mailboxes.get(mailboxKey(folder.user, folder.name)) ?? folder)
        changes.push(appendEntries(store, latest, [{blobId, size: input.localRaw.length, flags}]))
      }
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
  const result: DeliveryResult = {id: id || newId(), stored: changes.map(copyOf), queued, changes}
  for (const more of input.also ?? []) {
    const other = deliverIn(store, more, [...new Set(more.local)])
    result.stored.push(...other.stored)
    result.queued.push(...other.queued)
    result.changes.push(...other.changes)
  }
  return result
}
