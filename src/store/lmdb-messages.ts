/**
 * What mail clients do to the messages of a folder (IMAP STORE/EXPUNGE/COPY/MOVE/APPEND, POP3
 * DELE, `message delete`) on LMDB. Each function runs inside one write transaction (./lmdb-mail.ts
 * makes each operation one async commit), keeps the folder's counters, UIDNEXT and HIGHESTMODSEQ
 * right, and returns a `FolderChange` per folder touched for the mailbox views and the
 * `mailbox.changed` event.
 */
import {MailboxError} from '../errors.js'
import {isSeen, nextFlags, sameFlags} from './flag-change.js'
import type {AppendRequest, CopyRequest, CopyResult, ExpungeRequest, FlagsRequest, FolderChange} from './backend.js'
import {mailboxKey, mailboxMessagesRange, messageKey} from './keys.js'
import {addBlobRef, putBlob, releaseBlob} from './lmdb-blobs.js'
import {userInTxn} from './lmdb-directory.js'
import {folderById, getFolder, listFolders} from './lmdb-folders.js'
import {usageOfFolders} from '../mailstore/folder-rules.js'
import type {MailboxRecord, MessageRecord} from './records.js'
import type {Store} from './store.js'
import {checkLimits, hasLimits, type Amount} from './user-limits.js'

/** the user's limits (./user-limits.ts), read and checked inside the operation's write transaction */
function checkQuota(store: Store, user: string, adding: Amount): void {
  const limits = userInTxn(store, user)
  if (limits && hasLimits(limits)) checkLimits(user, limits, usageOfFolders(listFolders(store, user)), adding)
}

export interface NewEntry {
  blobId: string
  size: number
  flags?: string[]
  internalDate?: number
}

/** Appends message entries for existing blobs to a folder: allocates UIDs and MODSEQs in order and updates the folder's counters once. */
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
    if (!isSeen(flags)) unseen++
  }
  const after = {...folder, uidNext, highestModseq, messages, unseen, size}
  store.mailboxes.putSync(mailboxKey(folder.user, folder.name), after)
  return {folder: after, modseqBefore: folder.highestModseq, appended}
}

/** Changes the flags of the listed messages; only messages whose flags really change get a new MODSEQ. */
export function setFlagsIn(store: Store, req: FlagsRequest): FolderChange & {modified: number[]} {
  const {flags} = req
  const folder = folderById(store, req.user, req.mailboxId)
  let {highestModseq, unseen} = folder
  const updated: MessageRecord[] = []
  const modified: number[] = []
  for (const uid of req.uids) {
    const m = store.messages.get(messageKey(folder.id, uid))
    if (!m) continue
    if (req.unchangedSince !== undefined && m.modseq > req.unchangedSince) {
      modified.push(uid)
      continue
    }
    const next = nextFlags(m.flags, req.mode, flags)
    if (sameFlags(next, m.flags)) continue
    unseen += (isSeen(m.flags) ? 1 : 0) - (isSeen(next) ? 1 : 0)
    const record = {...m, flags: next, modseq: ++highestModseq}
    store.messages.putSync(messageKey(folder.id, uid), record)
    updated.push(record)
  }
  const after = {...folder, highestModseq, unseen}
  if (updated.length) store.mailboxes.putSync(mailboxKey(folder.user, folder.name), after)
  return {folder: updated.length ? after : folder, modseqBefore: folder.highestModseq, updated, modified}
}

function removeEntries(store: Store, folder: MailboxRecord, records: MessageRecord[]): FolderChange {
  let {messages, unseen, size} = folder
  for (const m of records) {
    store.messages.removeSync(messageKey(folder.id, m.uid))
    releaseBlob(store, m.blobId)
    messages--
    size -= m.size
    if (!isSeen(m.flags)) unseen--
  }
  const after = {...folder, messages, unseen, size, highestModseq: folder.highestModseq + (records.length ? 1 : 0)}
  if (records.length) store.mailboxes.putSync(mailboxKey(folder.user, folder.name), after)
  return {folder: after, modseqBefore: folder.highestModseq, expunged: records.map((m) => m.uid)}
}

export function expungeIn(store: Store, req: ExpungeRequest): FolderChange {
  const folder = folderById(store, req.user, req.mailboxId)
  const candidates = req.uids
    ? [...new Set(req.uids)].map((uid) => store.messages.get(messageKey(folder.id, uid))).filter((m): m is MessageRecord => !!m)
    : [...store.messages.getRange(mailboxMessagesRange(folder.id)).map(({value}) => value)]
  const doomed = req.onlyDeleted ? candidates.filter((m) => m.flags.includes('\\Deleted')) : candidates
  return removeEntries(store, folder, doomed.sort((a, b) => a.uid - b.uid))
}

/** COPY / MOVE: the copies share the source blobs (a reference each); MOVE removes the sources in the same commit. */
export function copyIn(store: Store, req: CopyRequest): CopyResult {
  const source = folderById(store, req.user, req.mailboxId)
  const dest = getFolder(store, req.user, req.to)
  if (dest.noselect) throw new MailboxError('invalid', `${dest.name} cannot hold messages`)
  const records = [...new Set(req.uids)]
    .sort((a, b) => a - b)
    .map((uid) => store.messages.get(messageKey(source.id, uid)))
    .filter((m): m is MessageRecord => !!m)
  if (!req.move) checkQuota(store, req.user, {messages: records.length, size: records.reduce((n, m) => n + m.size, 0)})
  for (const m of records) addBlobRef(store, m.blobId)
  const copied = appendEntries(store, dest, records.map((m) => ({blobId: m.blobId, size: m.size, flags: m.flags, internalDate: m.internalDate})))
  const pairs = records.map((m, i): [number, number] => [m.uid, copied.appended![i]!.uid])
  const changes = [copied]
  if (req.move) {
    // re-read: a move within one folder has just changed the source record
    const current = dest.id === source.id ? copied.folder : source
    changes.push(removeEntries(store, current, records))
  }
  return {uidValidity: dest.uidValidity, pairs, changes}
}

export function appendIn(store: Store, req: AppendRequest): FolderChange {
  const folder = getFolder(store, req.user, req.folder)
  if (folder.noselect) throw new MailboxError('invalid', `${folder.name} cannot hold messages`)
  checkQuota(store, req.user, {messages: req.messages.length, size: req.messages.reduce((n, m) => n + m.raw.length, 0)})
  const entries = req.messages.map((m): NewEntry => {
    const blobId = putBlob(store, m.raw, {analysis: m.analysis}, 1)
    return {blobId, size: m.raw.length, flags: m.flags, ...(m.internalDate !== undefined ? {internalDate: m.internalDate} : {})}
  })
  return appendEntries(store, folder, entries)
}
