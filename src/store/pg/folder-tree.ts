/**
 * A user's folder tree in PostgreSQL: CREATE, DELETE, RENAME, SUBSCRIBE and where quarantined
 * mail goes, with the rules the LMDB store applies (src/mailstore/folders.ts; the pure ones in
 * src/mailstore/folder-rules.ts): missing parents are made, a deleted folder with children stays
 * as a `\Noselect` placeholder and is revived by CREATE with a new UIDVALIDITY, a rename carries
 * the inferiors, renaming INBOX moves its messages to the new name and starts a new INBOX.
 *
 * Each runs in the caller's transaction and first takes the user's folder-tree lock (an advisory
 * lock per user), so two nodes changing one user's tree run one after another: no `a/b` created
 * under an `a` that another node is deleting. Messages are keyed by the folder's id, so a rename
 * rewrites names only; an APPEND racing a rename lands in the folder under one name or the other.
 * Lock order: the tree lock, the user's row, then folder rows (as appends take them).
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import {INBOX, isInferior, JUNK, normalizeFolderName, parentsOf, SEPARATOR} from '../../mailstore/folder-rules.js'
import type {MailboxRecord, SpecialUse} from '../records.js'
import {refCounts, releaseBlobs} from './blobs.js'
import type {ChangeSignals} from './changes.js'
import {addSubscription, createFolder, FOLDER_COLUMNS, folderFromRow, getFolder, listFolders, nextUidValidity, removeSubscription} from './folders.js'

/** first key of the per-user folder-tree lock (`hashtext(user)` the second): "fold" in ASCII */
const TREE_LOCK = 0x666f6c64

export async function lockTree(client: pg.ClientBase, user: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TREE_LOCK, user])
}

/**
 * The user must exist, and stays until COMMIT (FOR KEY SHARE: a `user remove` on another node
 * locks the row before deleting the folders, so it waits for this change or this change for it):
 * no folder outlives its user. (LMDB's single writer needs no such check; its callers check first.)
 */
async function requireUser(client: pg.ClientBase, user: string): Promise<void> {
  const {rowCount} = await client.query('SELECT 1 FROM users WHERE address = $1 FOR KEY SHARE', [user])
  if (rowCount !== 1) throw new MailboxError('not-found', `no user ${user}`)
}

const notFound = (user: string, name: string) => new MailboxError('not-found', `no folder ${JSON.stringify(name)} for ${user}`)

/** a new folder as IMAP CREATE makes it: subscribed */
const newFolder = (client: pg.ClientBase, user: string, name: string, specialUse?: SpecialUse) => createFolder(client, user, name, {subscribed: true, ...(specialUse ? {specialUse} : {})})

async function ensureParents(client: pg.ClientBase, user: string, name: string): Promise<void> {
  for (const parent of parentsOf(name)) {
    if (!(await getFolder(client, user, parent))) await newFolder(client, user, parent)
  }
}

/** the range of a folder's inferiors as SQL on `name` ('0' follows '/' in byte order), so the (user, name) index serves it */
const INFERIORS = `name > $2 || '${SEPARATOR}' AND name < $2 || '0'`

async function hasChildren(client: pg.ClientBase, user: string, name: string): Promise<boolean> {
  const {rowCount} = await client.query(`SELECT 1 FROM folders WHERE user_address = $1 AND ${INFERIORS} LIMIT 1`, [user, name])
  return rowCount === 1
}

/** CREATE (`exists` for a selectable folder); inside the caller's transaction, tree lock taken here */
export async function createFolderIn(client: pg.ClientBase, user: string, input: string, specialUse?: SpecialUse): Promise<MailboxRecord> {
  const name = normalizeFolderName(input)
  await lockTree(client, user)
  await requireUser(client, user)
  const existing = await getFolder(client, user, name)
  if (existing && !existing.noselect) throw new MailboxError('exists', `folder ${JSON.stringify(name)} already exists`)
  await ensureParents(client, user, name)
  if (!existing) return newFolder(client, user, name, specialUse)
  // reviving a \Noselect placeholder: a new incarnation, so a fresh UIDVALIDITY and nothing of the old one's tombstones
  await client.query('DELETE FROM vanished WHERE folder_id = $1', [existing.id])
  const {rows} = await client.query(
    `UPDATE folders SET noselect = false, uid_validity = $2, uid_next = 1, highest_modseq = 1, vanished_floor = 0, special_use = coalesce($3, special_use)
      WHERE id = $1 RETURNING ${FOLDER_COLUMNS}`,
    [existing.id, await nextUidValidity(client), specialUse ?? null],
  )
  return folderFromRow(rows[0])
}

/** DELETE: the folder and its messages, or a placeholder when it has children; returns it as it was */
export async function deleteFolderIn(client: pg.ClientBase, signals: ChangeSignals, user: string, input: string): Promise<MailboxRecord> {
  const name = normalizeFolderName(input)
  if (name === INBOX) throw new MailboxError('conflict', 'INBOX cannot be deleted')
  await lockTree(client, user)
  // the row lock first: an APPEND waiting on it then finds the folder gone (not-found), never half-deleted
  const {rows} = await client.query(`SELECT ${FOLDER_COLUMNS} FROM folders WHERE user_address = $1 AND name = $2 FOR UPDATE`, [user, name])
  if (!rows[0]) throw notFound(user, name)
  const folder = folderFromRow(rows[0])
  const children = await hasChildren(client, user, name)
  if (children && folder.noselect) throw new MailboxError('conflict', `folder ${JSON.stringify(name)} has children and holds no messages; delete the children first`)
  const {rows: gone} = await client.query<{blob_id: string}>('DELETE FROM messages WHERE folder_id = $1 RETURNING blob_id', [folder.id])
  await releaseBlobs(client, refCounts(gone.map((r) => r.blob_id)))
  if (children) {
    await client.query('DELETE FROM vanished WHERE folder_id = $1', [folder.id])
    await client.query('UPDATE folders SET noselect = true, messages = 0, unseen = 0, size = 0 WHERE id = $1', [folder.id])
    signals.folder(folder.id)
  } else {
    await client.query('DELETE FROM folders WHERE id = $1', [folder.id])
    signals.folderGone(folder.id, user, folder.highestModseq)
  }
  return folder
}

/** RENAME (RFC 3501 §6.3.5, INBOX's included); returns the renamed folder */
export async function renameFolderIn(client: pg.ClientBase, user: string, fromInput: string, toInput: string): Promise<MailboxRecord> {
  const from = normalizeFolderName(fromInput)
  const to = normalizeFolderName(toInput)
  if (from === to) throw new MailboxError('exists', `folder ${JSON.stringify(to)} already exists`)
  // INBOX may move into its own hierarchy: its inferiors are not part of an INBOX rename
  if (isInferior(to, from) && from !== INBOX) throw new MailboxError('invalid', `cannot rename ${JSON.stringify(from)} into itself`)
  await lockTree(client, user)
  await requireUser(client, user)
  const folder = await getFolder(client, user, from)
  if (!folder) throw notFound(user, from)
  if (await getFolder(client, user, to)) throw new MailboxError('exists', `folder ${JSON.stringify(to)} already exists`)
  await ensureParents(client, user, to)
  if (from === INBOX) {
    // the renamed folder keeps INBOX's identity (and so its messages, keyed by id); INBOX starts over empty
    const {rows} = await client.query(`UPDATE folders SET name = $2, special_use = NULL WHERE id = $1 RETURNING ${FOLDER_COLUMNS}`, [folder.id, to])
    if (folder.subscribed) await addSubscription(client, user, to)
    await createFolder(client, user, INBOX, {subscribed: folder.subscribed, ...(folder.specialUse ? {specialUse: folder.specialUse} : {})})
    return folderFromRow(rows[0])
  }
  const {rows} = await client.query(
    `UPDATE folders SET name = $3 || substr(name, length($2) + 1) WHERE user_address = $1 AND (name = $2 OR (${INFERIORS})) RETURNING ${FOLDER_COLUMNS}`,
    [user, from, to],
  )
  // the subscriptions of the renamed folders go with them (their flags did), replacing what a
  // deleted folder of the new name left: the set keeps mirroring the flags
  for (const row of rows) {
    if (!row.subscribed) {
      await removeSubscription(client, user, row.name)
      continue
    }
    await removeSubscription(client, user, from + row.name.slice(to.length))
    await addSubscription(client, user, row.name)
  }
  return folderFromRow(rows.find((r) => r.id === folder.id))
}

/** Only an existing folder can be subscribed (as in Dovecot); any name can be unsubscribed, a deleted folder's included. */
export async function subscribeIn(client: pg.ClientBase, user: string, input: string, subscribed: boolean): Promise<void> {
  const name = normalizeFolderName(input)
  const {rowCount} = await client.query('UPDATE folders SET subscribed = $3 WHERE user_address = $1 AND name = $2', [user, name, subscribed])
  if (subscribed && rowCount !== 1) throw notFound(user, name)
  await (subscribed ? addSubscription : removeSubscription)(client, user, name)
}

/**
 * Where quarantined mail goes: the user's `\Junk` folder, else the one named Junk, else a new
 * Junk folder with `\Junk` (RFC 6154), as on LMDB. Takes the tree lock (it may create).
 */
export async function junkFolder(client: pg.ClientBase, user: string): Promise<MailboxRecord> {
  await lockTree(client, user)
  const folders = await listFolders(client, user)
  const marked = folders.find((f) => f.specialUse === '\\Junk' && !f.noselect)
  if (marked) return marked
  const named = folders.find((f) => f.name === JUNK)
  if (named && !named.noselect) return named
  return createFolderIn(client, user, JUNK, '\\Junk')
}
