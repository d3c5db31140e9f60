/**
 * A user's folders (IMAP mailboxes) on LMDB, with the rules of RFC 3501 §6.3 (see seed 002):
 * - hierarchy separator `/`; creating `a/b/c` creates `a` and `a/b` when missing;
 * - INBOX is case-insensitive, always exists and cannot be deleted; renaming INBOX moves its
 *   messages to the new name and leaves INBOX empty (its inferiors stay);
 * - deleting a folder that has children keeps the children and leaves the folder as a
 *   `\Noselect` placeholder; a placeholder with children cannot be deleted;
 * - UIDs are never reused: every (re)creation takes a fresh UIDVALIDITY from a store-wide
 *   counter that never goes backwards, and renames keep UIDVALIDITY and UIDNEXT.
 * Messages are keyed by the folder's numeric id, so a rename rewrites folder records only.
 *
 * The functions taking `store` run inside the caller's write transaction (./lmdb-mail.ts runs
 * each operation as one), so a failed rule changes nothing. The name rules are
 * ../mailstore/folder-rules.ts, shared with the PostgreSQL backend.
 */
import {MailboxError} from '../errors.js'
import {addUsage, byFolderOrder, DEFAULT_FOLDERS, INBOX, isInferior, JUNK, normalizeFolderName, parentsOf, SEPARATOR, type Usage} from '../mailstore/folder-rules.js'
import {mailboxKey, mailboxMessagesRange, messageKey, subscriptionKey, userMailboxesRange, userSubscriptionsRange} from './keys.js'
import {releaseBlob} from './lmdb-blobs.js'
import {lastCommit, readAtCommit} from './lmdb-commits.js'
import type {MailboxRecord, SpecialUse} from './records.js'
import {nextCounter} from './schema.js'
import type {Store} from './store.js'

export function listFolders(store: Store, user: string): MailboxRecord[] {
  return [...store.mailboxes.getRange(userMailboxesRange(user)).map(({value}) => value)].sort(byFolderOrder)
}

export function findFolder(store: Store, user: string, name: string): MailboxRecord | undefined {
  return store.mailboxes.get(mailboxKey(user, normalizeFolderName(name)))
}

export function getFolder(store: Store, user: string, name: string): MailboxRecord {
  const folder = findFolder(store, user, name)
  if (!folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(name)} for ${user}`)
  return folder
}

/**
 * Where each folder id was last found, `user\0id` → its name, with the record as last decoded, the
 * bytes it was decoded from and the LMDB commit it was read at (./lmdb-commits.ts). The name is a
 * hint only, checked against the record read by key, so a rename or delete (by any process) just
 * sends the lookup back to the scan. The record is handed out without a read while no commit was
 * made to the file since (by any process), and after a commit while the stored bytes are the same.
 * Every IMAP command on a selected folder asks by id: measured in `serve` under the IMAP bench,
 * right after a large FETCH (caches cold) the key read took a median ~0.14 ms of a FETCH's
 * ~0.35 ms to its first write, the commit check 25-70 us (`env.info()` builds an object); the scan
 * of the user's folders (a cursor, each record decoded) ~0.2 ms. Records handed out are frozen:
 * shared by every caller, changed by none.
 */
interface FolderHint {
  name: string
  bytes?: Buffer
  folder?: MailboxRecord
  /** the commit `folder` was read at; undefined when read inside a write transaction */
  commit?: number
}
const folderHints = new WeakMap<Store, Map<string, FolderHint>>()
/** beyond this many hints the map starts again: a bound, not a cache that matters for correctness */
const MAX_FOLDER_HINTS = 10_000

/** the folder record stored under `name` (its hint's decoded record while nothing or not its bytes changed) */
function readHinted(store: Store, user: string, hint: FolderHint): MailboxRecord | undefined {
  if (hint.folder && hint.commit !== undefined && hint.commit === lastCommit(store)) return hint.folder
  const key = mailboxKey(user, hint.name)
  const {value: read, commit} = readAtCommit(store, () => store.mailboxes.getBinaryFast(key))
  hint.commit = undefined
  if (!read) return undefined
  // the fast read hands out its own (reused) buffer with `length` set to the value's: a view of that many bytes
  const bytes = read.subarray(0, read.length)
  if (!hint.folder || !hint.bytes?.equals(bytes)) {
    // kept as a copy: the next read overwrites that buffer
    hint.bytes = Buffer.from(bytes)
    hint.folder = Object.freeze(store.mailboxes.get(key)!)
  }
  hint.commit = commit
  return hint.folder
}

/** a selectable folder of `user` by id (a session follows its folder through renames) */
export function folderById(store: Store, user: string, id: number): MailboxRecord {
  let hints = folderHints.get(store)
  if (!hints) folderHints.set(store, (hints = new Map()))
  const key = `${user}\0${id}`
  const hint = hints.get(key)
  if (hint) {
    const folder = readHinted(store, user, hint)
    if (folder?.id === id && !folder.noselect) return folder
  }
  for (const {value} of store.mailboxes.getRange(userMailboxesRange(user))) {
    if (value.id === id && !value.noselect) {
      if (hints.size >= MAX_FOLDER_HINTS) hints.clear()
      hints.set(key, {name: value.name})
      return value
    }
  }
  hints.delete(key)
  throw new MailboxError('not-found', 'the folder no longer exists')
}

function freshIdentity(store: Store): Pick<MailboxRecord, 'id' | 'uidValidity' | 'uidNext' | 'highestModseq'> {
  return {
    id: nextCounter(store, 'lastMailboxId'),
    // seconds since the epoch, as Dovecot does, but never lower than any value handed out before
    uidValidity: nextCounter(store, 'lastUidValidity', Math.floor(Date.now() / 1000)),
    uidNext: 1,
    highestModseq: 1,
  }
}

export function putFolder(store: Store, folder: MailboxRecord): MailboxRecord {
  store.mailboxes.putSync(mailboxKey(folder.user, folder.name), folder)
  return folder
}

/** Adds a folder record with a fresh identity, subscribed (as IMAP CREATE makes it). */
export function newFolder(store: Store, user: string, name: string, specialUse?: SpecialUse): MailboxRecord {
  store.subscriptions.putSync(subscriptionKey(user, name), 1)
  return putFolder(store, {
    ...freshIdentity(store),
    user,
    name,
    subscribed: true,
    ...(specialUse ? {specialUse} : {}),
    messages: 0,
    unseen: 0,
    size: 0,
    createdAt: Date.now(),
  })
}

function ensureParents(store: Store, user: string, name: string): void {
  for (const parent of parentsOf(name)) {
    if (!store.mailboxes.get(mailboxKey(user, parent))) newFolder(store, user, parent)
  }
}

/** A new user's folders (INBOX, Sent, …), those missing; inside the directory's transaction. */
export function createDefaultFolders(store: Store, user: string): void {
  for (const f of DEFAULT_FOLDERS) {
    if (!store.mailboxes.get(mailboxKey(user, f.name))) newFolder(store, user, f.name, f.specialUse)
  }
}

/**
 * Where quarantined mail goes: the user's `\Junk` folder, else the one named Junk, else a new
 * Junk folder with `\Junk` (RFC 6154), so a user who deleted it gets it back.
 */
export function junkFolder(store: Store, user: string): MailboxRecord {
  const marked = listFolders(store, user).find((f) => f.specialUse === '\\Junk' && !f.noselect)
  if (marked) return marked
  const named = store.mailboxes.get(mailboxKey(user, JUNK))
  if (named && !named.noselect) return named
  // created, or a \Noselect placeholder named Junk (its children kept) made a real folder again
  return createFolderIn(store, user, JUNK, '\\Junk')
}

/** `name` is normalized already */
export function createFolderIn(store: Store, user: string, name: string, specialUse?: SpecialUse): MailboxRecord {
  const existing = store.mailboxes.get(mailboxKey(user, name))
  if (existing && !existing.noselect) throw new MailboxError('exists', `folder ${JSON.stringify(name)} already exists`)
  ensureParents(store, user, name)
  if (existing) {
    // reviving a \Noselect placeholder: a fresh UIDVALIDITY, since it is a new incarnation
    const {noselect: _, ...rest} = existing
    return putFolder(store, {...rest, ...freshIdentity(store), id: existing.id, ...(specialUse ? {specialUse} : {})})
  }
  return newFolder(store, user, name, specialUse)
}

function hasChildren(store: Store, user: string, name: string): boolean {
  for (const {value} of store.mailboxes.getRange({start: mailboxKey(user, name + SEPARATOR), limit: 1})) {
    return value.user === user && isInferior(value.name, name)
  }
  return false
}

/** `name` is normalized and not INBOX; returns the folder as it was */
export function deleteFolderIn(store: Store, user: string, name: string): MailboxRecord {
  const folder = store.mailboxes.get(mailboxKey(user, name))
  if (!folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(name)} for ${user}`)
  const children = hasChildren(store, user, name)
  if (children && folder.noselect) {
    throw new MailboxError('conflict', `folder ${JSON.stringify(name)} has children and holds no messages; delete the children first`)
  }
  removeFolderMessages(store, folder)
  if (children) {
    putFolder(store, {...folder, noselect: true, messages: 0, unseen: 0, size: 0})
  } else {
    store.mailboxes.removeSync(mailboxKey(user, name))
  }
  return folder
}

/** `from` and `to` are normalized and differ, `to` not inside `from` (unless INBOX); returns the renamed folder */
export function renameFolderIn(store: Store, user: string, from: string, to: string): MailboxRecord {
  const folder = store.mailboxes.get(mailboxKey(user, from))
  if (!folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(from)} for ${user}`)
  if (store.mailboxes.get(mailboxKey(user, to))) throw new MailboxError('exists', `folder ${JSON.stringify(to)} already exists`)
  ensureParents(store, user, to)
  if (from === INBOX) {
    // The renamed folder takes over INBOX's identity (and so its messages, keyed by id);
    // INBOX starts over as a new, empty incarnation. INBOX's inferiors stay where they are.
    const {specialUse: _, ...inbox} = folder
    const moved = putFolder(store, {...inbox, name: to})
    if (folder.subscribed) store.subscriptions.putSync(subscriptionKey(user, to), 1)
    putFolder(store, {...folder, ...freshIdentity(store), messages: 0, unseen: 0, size: 0, createdAt: Date.now()})
    return moved
  }
  const renamed = putFolder(store, {...folder, name: to})
  store.mailboxes.removeSync(mailboxKey(user, from))
  moveSubscription(store, user, folder, to)
  const inferiors = [...store.mailboxes.getRange({start: mailboxKey(user, from + SEPARATOR), end: mailboxKey(user, from + '0')})]
  for (const {value} of inferiors) {
    store.mailboxes.removeSync(mailboxKey(user, value.name))
    const name = to + value.name.slice(from.length)
    putFolder(store, {...value, name})
    moveSubscription(store, user, value, name)
  }
  return renamed
}

/**
 * A renamed folder's subscription goes with it (the folder record's flag does), and replaces
 * whatever a deleted folder of the new name left: the set keeps mirroring the flags.
 */
function moveSubscription(store: Store, user: string, folder: MailboxRecord, to: string): void {
  if (!folder.subscribed) return void store.subscriptions.removeSync(subscriptionKey(user, to))
  store.subscriptions.removeSync(subscriptionKey(user, folder.name))
  store.subscriptions.putSync(subscriptionKey(user, to), 1)
}

/** the user's subscribed names, folders or not, in key (byte) order */
export function listSubscriptions(store: Store, user: string): string[] {
  return [...store.subscriptions.getKeys(userSubscriptionsRange(user))].map((key) => (key as [string, string])[1])
}

/**
 * `name` is normalized. Only an existing folder can be subscribed (as in Dovecot); any name can
 * be unsubscribed, a deleted folder's included. The folder record's flag mirrors the set.
 */
export function subscribeIn(store: Store, user: string, name: string, subscribed: boolean): void {
  const folder = store.mailboxes.get(mailboxKey(user, name))
  if (subscribed && !folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(name)} for ${user}`)
  if (subscribed) store.subscriptions.putSync(subscriptionKey(user, name), 1)
  else store.subscriptions.removeSync(subscriptionKey(user, name))
  if (folder) putFolder(store, {...folder, subscribed})
}

/** Deletes all message entries of a folder and drops the blob references they held. */
export function removeFolderMessages(store: Store, folder: MailboxRecord): number {
  const refs = new Map<string, number>()
  const uids: number[] = []
  for (const {value} of store.messages.getRange(mailboxMessagesRange(folder.id))) {
    uids.push(value.uid)
    refs.set(value.blobId, (refs.get(value.blobId) ?? 0) + 1)
  }
  for (const uid of uids) store.messages.removeSync(messageKey(folder.id, uid))
  for (const [blobId, n] of refs) releaseBlob(store, blobId, n)
  return uids.length
}

/** Removes every folder of a user and their messages (a removed user, inside the directory's transaction). */
export function removeAllFolders(store: Store, user: string): void {
  for (const folder of listFolders(store, user)) {
    removeFolderMessages(store, folder)
    store.mailboxes.removeSync(mailboxKey(user, folder.name))
  }
  for (const name of listSubscriptions(store, user)) store.subscriptions.removeSync(subscriptionKey(user, name))
}

/**
 * Every user's usage in one pass over all folders (keyed by user first): what `user list` shows.
 * A range per user cost about 0.2 ms each, 20 ms of `user list` for 100 users.
 */
export function usageByUser(store: Store): Map<string, Usage> {
  const byUser = new Map<string, Usage>()
  for (const {value} of store.mailboxes.getRange({})) {
    let usage = byUser.get(value.user)
    if (!usage) byUser.set(value.user, (usage = {messages: 0, size: 0, folders: 0}))
    addUsage(usage, value)
  }
  return byUser
}
