/**
 * Folder identity in PostgreSQL: UIDVALIDITY from one database-wide counter that never goes
 * backwards (so a deleted and recreated folder never reuses UIDs, whichever node recreates it),
 * UIDNEXT and HIGHESTMODSEQ per folder row. The folder rules themselves (names, hierarchy,
 * INBOX) stay in src/mailstore/folders.ts. Call inside `transaction()`.
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import {byFolderOrder, DEFAULT_FOLDERS, type Usage} from '../../mailstore/folder-rules.js'
import type {MailboxRecord, SpecialUse} from '../records.js'
import {releaseBlob} from './blobs.js'

/**
 * The next UIDVALIDITY: max(previous + 1, now in seconds), now by the database's clock (one
 * clock for all nodes). The counter's row lock serializes nodes creating folders at once.
 */
export async function nextUidValidity(client: pg.ClientBase): Promise<number> {
  const {rows} = await client.query(
    `UPDATE mailbox_meta SET value = greatest(value + 1, extract(epoch FROM now())::bigint)
     WHERE key = 'lastUidValidity' RETURNING value`,
  )
  return rows[0].value
}

export const FOLDER_COLUMNS = `id, user_address, name, uid_validity, uid_next, highest_modseq, subscribed, special_use, noselect,
  messages, unseen, size, created_at`

export interface FolderRow {
  id: number
  user_address: string
  name: string
  uid_validity: number
  uid_next: number
  highest_modseq: number
  subscribed: boolean
  special_use: SpecialUse | null
  noselect: boolean
  messages: number
  unseen: number
  size: number
  created_at: number
}

export function folderFromRow(row: FolderRow): MailboxRecord {
  return {
    id: row.id,
    user: row.user_address,
    name: row.name,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModseq: row.highest_modseq,
    subscribed: row.subscribed,
    ...(row.special_use ? {specialUse: row.special_use} : {}),
    ...(row.noselect ? {noselect: true} : {}),
    messages: row.messages,
    unseen: row.unseen,
    size: row.size,
    createdAt: row.created_at,
  }
}

/** A new, empty folder with a fresh id and UIDVALIDITY; a name the user already has is a unique violation (23505). */
export async function createFolder(
  client: pg.ClientBase,
  user: string,
  name: string,
  options: {subscribed?: boolean; specialUse?: SpecialUse; now?: number} = {},
): Promise<MailboxRecord> {
  const uidValidity = await nextUidValidity(client)
  const {rows} = await client.query(
    `INSERT INTO folders (user_address, name, uid_validity, subscribed, special_use, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${FOLDER_COLUMNS}`,
    [user, name, uidValidity, options.subscribed ?? false, options.specialUse ?? null, options.now ?? Date.now()],
  )
  if (options.subscribed) await addSubscription(client, user, name)
  return folderFromRow(rows[0])
}

export async function getFolder(client: pg.ClientBase | pg.Pool, user: string, name: string): Promise<MailboxRecord | undefined> {
  const {rows} = await client.query(`SELECT ${FOLDER_COLUMNS} FROM folders WHERE user_address = $1 AND name = $2`, [user, name])
  return rows[0] ? folderFromRow(rows[0]) : undefined
}

/** a user's folders, INBOX first, then by name (byFolderOrder) */
export async function listFolders(db: pg.ClientBase | pg.Pool, user: string): Promise<MailboxRecord[]> {
  const {rows} = await db.query(`SELECT ${FOLDER_COLUMNS} FROM folders WHERE user_address = $1`, [user])
  return rows.map(folderFromRow).sort(byFolderOrder)
}

/**
 * Locks a user's selectable folder by id (FOR UPDATE: the lock every change to a folder's
 * messages takes first, see ./append.ts) and returns it; `not-found` when it is gone, another
 * user's, or a \Noselect placeholder.
 */
export async function lockFolder(client: pg.ClientBase, user: string, id: number): Promise<MailboxRecord> {
  const {rows} = await client.query(`SELECT ${FOLDER_COLUMNS} FROM folders WHERE id = $1 AND user_address = $2 AND NOT noselect FOR UPDATE`, [id, user])
  if (!rows[0]) throw new MailboxError('not-found', 'the folder no longer exists')
  return folderFromRow(rows[0])
}

/** every user's usage, in one pass over the folders (user list) */
export async function usageByUser(db: pg.ClientBase | pg.Pool): Promise<Map<string, Usage>> {
  const {rows} = await db.query(
    `SELECT user_address, count(*) AS folders, sum(messages)::bigint AS messages, sum(size)::bigint AS size
       FROM folders GROUP BY user_address ORDER BY user_address`,
  )
  return new Map(rows.map((r) => [r.user_address, {messages: r.messages, size: r.size, folders: r.folders}]))
}

/** A new user's folders (INBOX, Sent, Drafts, Trash, Junk, Archive), subscribed, as on LMDB. */
export async function createDefaultFolders(client: pg.ClientBase, user: string, now = Date.now()): Promise<void> {
  for (const f of DEFAULT_FOLDERS) {
    if (!(await getFolder(client, user, f.name))) await createFolder(client, user, f.name, {subscribed: true, now, ...(f.specialUse ? {specialUse: f.specialUse} : {})})
  }
}

/** What a user's folders hold together. */
export async function usageOfUser(client: pg.ClientBase | pg.Pool, user: string): Promise<Usage> {
  const {rows} = await client.query(
    'SELECT count(*) AS folders, coalesce(sum(messages), 0)::bigint AS messages, coalesce(sum(size), 0)::bigint AS size FROM folders WHERE user_address = $1',
    [user],
  )
  return {messages: rows[0].messages, size: rows[0].size, folders: rows[0].folders}
}

/**
 * Deletes every folder of a user with its messages (and their vanished records), releasing each
 * blob once per message that used it: the last release deletes its bytes. Inside `transaction()`.
 */
export async function removeUserFolders(client: pg.ClientBase, user: string): Promise<void> {
  const {rows} = await client.query(
    `WITH gone AS (
       DELETE FROM messages WHERE folder_id IN (SELECT id FROM folders WHERE user_address = $1) RETURNING blob_id
     )
     SELECT blob_id, count(*)::integer AS n FROM gone GROUP BY blob_id ORDER BY blob_id`,
    [user],
  )
  for (const {blob_id, n} of rows) await releaseBlob(client, blob_id, n)
  await client.query('DELETE FROM folders WHERE user_address = $1', [user])
  await client.query('DELETE FROM subscriptions WHERE user_address = $1', [user])
}

/** subscriptions are names of their own (a deleted folder's stays); the folder's `subscribed` column mirrors them */
export async function addSubscription(client: pg.ClientBase, user: string, name: string): Promise<void> {
  await client.query('INSERT INTO subscriptions (user_address, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [user, name])
}

export async function removeSubscription(client: pg.ClientBase, user: string, name: string): Promise<void> {
  await client.query('DELETE FROM subscriptions WHERE user_address = $1 AND name = $2', [user, name])
}

export async function listSubscriptions(db: pg.ClientBase | pg.Pool, user: string): Promise<string[]> {
  const {rows} = await db.query<{name: string}>('SELECT name FROM subscriptions WHERE user_address = $1 ORDER BY name', [user])
  return rows.map((r) => r.name)
}
