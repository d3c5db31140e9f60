/**
 * What mail clients do to the messages of a folder (IMAP STORE/EXPUNGE/COPY/MOVE/APPEND, POP3
 * RETR and DELE): each is one durable commit (`transactAsync`) that also keeps the folder's
 * counters, UIDNEXT and HIGHESTMODSEQ right, and returns a `FolderChange` per folder touched
 * for the mailbox views and the `mailbox.changed` event.
 */
import {MailboxError} from '../errors.js'
import {mailboxKey, messageKey, userMailboxesRange} from '../store/keys.js'
import {userInTxn} from '../store/lmdb-directory.js'
import type {MailboxRecord, MessageRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {analyzeMessage} from './analyze.js'
import {normalizeFlags, type FlagMode} from './flags.js'
import {addBlobRef, releaseBlob} from './blobs.js'
import {appendEntries, putBlob, type FolderChange} from './deliver.js'
import {getFolder, usageOf} from './folders.js'

export function folderById(store: Store, user: string, id: number): MailboxRecord {
  for (const {value} of store.mailboxes.getRange(userMailboxesRange(user))) {
    if (value.id === id && !value.noselect) return value
  }
  throw new MailboxError('not-found', 'the folder no longer exists')
}

const seen = (flags: string[]) => flags.includes('\\Seen')

function checkQuota(store: Store, user: string, adding: number): void {
  const quota = userInTxn(store, user)?.quota ?? 0
  if (quota && usageOf(store, user).size + adding > quota) throw new MailboxError('quota', `mailbox ${user} is over its quota`)
}

export interface FlagsRequest {
  user: string
  mailboxId: number
  uids: number[]
  mode: FlagMode
  flags: string[]
  /** CONDSTORE: leave alone (and report) messages changed after this MODSEQ */
  unchangedSince?: number
}

/** Changes the flags of the listed messages; only messages whose flags really change get a new MODSEQ. */
export function setFlags(store: Store, req: FlagsRequest): Promise<FolderChange & {modified: number[]}> {
  const flags = normalizeFlags(req.flags)
  return store.transactAsync(() => {
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
      let next: string[]
      if (req.mode === 'replace') next = flags
      else if (req.mode === 'add') next = normalizeFlags([...m.flags, ...flags])
      else {
        const drop = new Set(flags.map((f) => f.toLowerCase()))
        next = m.flags.filter((f) => !drop.has(f.toLowerCase()))
      }
      if (next.length === m.flags.length && next.every((f) => m.flags.includes(f))) continue
      unseen += (seen(m.flags) ? 1 : 0) - (seen(next) ? 1 : 0)
      const record = {...m, flags: next, modseq: ++highestModseq}
      store.messages.putSync(messageKey(folder.id, uid), record)
      updated.push(record)
    }
    const after = {...folder, highestModseq, unseen}
    if (updated.length) store.mailboxes.putSync(mailboxKey(folder.user, folder.name), after)
    return {folder: updated.length ? after : folder, modseqBefore: folder.highestModseq, updated, modified}
  })
}

function removeEntries(store: Store, folder: MailboxRecord, records: MessageRecord[]): FolderChange {
  let {messages, unseen, size} = folder
  for (const m of records) {
    store.messages.removeSync(messageKey(folder.id, m.uid))
    releaseBlob(store, m.blobId)
    messages--
    size -= m.size
    if (!seen(m.flags)) unseen--
  }
  const after = {...folder, messages, unseen, size, highestModseq: folder.highestModseq + (records.length ? 1 : 0)}
  if (records.length) store.mailboxes.putSync(mailboxKey(folder.user, folder.name), after)
  return {folder: after, modseqBefore: folder.highestModseq, expunged: records.map((m) => m.uid)}
}

export interface ExpungeRequest {
  user: string
  mailboxId: number
  /** only these messages (UID EXPUNGE, POP3); absent: all */
  uids?: number[]
  /** IMAP removes only messages flagged \Deleted; POP3 removes what DELE named */
  onlyDeleted: boolean
}

export function expungeMessages(store: Store, req: ExpungeRequest): Promise<FolderChange> {
  return store.transactAsync(() => {
    const folder = folderById(store, req.user, req.mailboxId)
    const candidates = req.uids
      ? [...new Set(req.uids)].map((uid) => store.messages.get(messageKey(folder.id, uid))).filter((m): m is MessageRecord => !!m)
      : [...store.messages.getRange({start: messageKey(folder.id, 0), end: messageKey(folder.id + 1, 0)}).map(({value}) => value)]
    const doomed = req.onlyDeleted ? candidates.filter((m) => m.flags.includes('\\Deleted')) : candidates
    return removeEntries(store, folder, doomed.sort((a, b) => a.uid - b.uid))
  })
}

export interface CopyRequest {
  user: string
  mailboxId: number
  uids: number[]
  /** destination folder name (UTF-8) */
  to: string
  move: boolean
}

export interface CopyResult {
  uidValidity: number
  /** [source UID, destination UID] in source UID order */
  pairs: [number, number][]
  changes: FolderChange[]
}

/** COPY / MOVE: the copies share the source blobs (a reference each); MOVE removes the sources in the same commit. */
export function copyMessages(store: Store, req: CopyRequest): Promise<CopyResult> {
  return store.transactAsync(() => {
    const source = folderById(store, req.user, req.mailboxId)
    const dest = getFolder(store, req.user, req.to)
    if (dest.noselect) throw new MailboxError('invalid', `${dest.name} cannot hold messages`)
    const records = [...new Set(req.uids)]
      .sort((a, b) => a - b)
      .map((uid) => store.messages.get(messageKey(source.id, uid)))
      .filter((m): m is MessageRecord => !!m)
    if (!req.move) checkQuota(store, req.user, records.reduce((n, m) => n + m.size, 0))
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
  })
}

export interface AppendRequest {
  user: string
  folder: string
  raw: Buffer
  flags: string[]
  internalDate?: number
}

export async function appendMessage(store: Store, req: AppendRequest): Promise<{uidValidity: number; uid: number; change: FolderChange}> {
  const flags = normalizeFlags(req.flags)
  const analysis = analyzeMessage(req.raw)
  const change = await store.transactAsync(() => {
    const folder = getFolder(store, req.user, req.folder)
    if (folder.noselect) throw new MailboxError('invalid', `${folder.name} cannot hold messages`)
    checkQuota(store, req.user, req.raw.length)
    const blobId = putBlob(store, req.raw, {analysis}, 1)
    return appendEntries(store, folder, [{blobId, size: req.raw.length, flags, ...(req.internalDate !== undefined ? {internalDate: req.internalDate} : {})}])
  })
  return {uidValidity: change.folder.uidValidity, uid: change.appended![0]!.uid, change}
}
