/**
 * `store.mail` (../backend.ts MailStore) on PostgreSQL: folders, messages, blobs and delivery, as
 * the LMDB store behaves, shared by every node. Each write is one `signalledTransaction()`: it
 * resolves after COMMIT, and the folders it changed are signalled to every node at COMMIT
 * (./changes.ts), whose views catch up with `changesSince` (./catch-up.ts). Reads are one query
 * each, never cached: what another node committed is read at once.
 *
 * The parts: ./folder-tree.ts (CREATE, DELETE, RENAME, SUBSCRIBE, Junk), ./append.ts (UIDs from
 * the locked folder row), ./message-changes.ts (flags, expunges, tombstones), ./deliver.ts,
 * ./blobs.ts (bytes once, references counted in the same transaction). Quota: APPEND and COPY
 * lock the user's row while they check it, so two nodes appending at once cannot both pass.
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import {normalizeFlags} from '../../mailstore/flags.js'
import {normalizeFolderName} from '../../mailstore/folder-rules.js'
import type {FolderCatchUp, MailStore} from '../backend.js'
import type {MailboxRecord} from '../records.js'
import {checkLimits, hasLimits, type Amount, type UserLimits} from '../user-limits.js'
import {appendMessages} from './append.js'
import {addBlobRefs, blobBytes, blobInfo, cachedText, cacheText, recentBlobs, refCounts} from './blobs.js'
import {changesSince} from './catch-up.js'
import {type ChangeSignals, signalledTransaction} from './changes.js'
import {deliverIn, storeBlob} from './deliver.js'
import type {PgDirectoryBackend} from './directory.js'
import {createFolderIn, deleteFolderIn, renameFolderIn, subscribeIn} from './folder-tree.js'
import {FOLDER_COLUMNS, folderFromRow, getFolder, listFolders, listSubscriptions, lockFolder, usageByUser, usageOfUser} from './folders.js'
import {MESSAGE_COLUMNS, messageFromRow, removeLocked, removeMessages, setFlags} from './message-changes.js'

const NO_LIMITS: UserLimits = {quota: 0}

/**
 * A user's limits (../user-limits.ts). With one, the user's row stays locked to COMMIT, so the
 * APPENDs and COPYs of one user from all nodes check it one after another. Taken before any
 * folder lock.
 */
async function lockQuota(client: pg.ClientBase, user: string): Promise<UserLimits> {
  const limitsOf = (row?: {quota: number; max_messages: number}): UserLimits => (row ? {quota: row.quota, maxMessages: row.max_messages} : NO_LIMITS)
  const {rows} = await client.query('SELECT quota, max_messages FROM users WHERE address = $1', [user])
  if (!hasLimits(limitsOf(rows[0]))) return NO_LIMITS
  const locked = await client.query('SELECT quota, max_messages FROM users WHERE address = $1 FOR UPDATE', [user])
  return limitsOf(locked.rows[0])
}

/** refuses adding `adding` to a user over one of their limits */
async function checkQuota(client: pg.ClientBase, user: string, limits: UserLimits, adding: Amount): Promise<void> {
  if (hasLimits(limits)) checkLimits(user, limits, await usageOfUser(client, user), adding)
}

/** a user's folder by name, as given; `not-found`, or `invalid` for a placeholder */
async function selectableFolder(client: pg.ClientBase, user: string, input: string): Promise<MailboxRecord> {
  const name = normalizeFolderName(input)
  const folder = await getFolder(client, user, name)
  if (!folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(name)} for ${user}`)
  if (folder.noselect) throw new MailboxError('invalid', `${folder.name} cannot hold messages`)
  return folder
}

export function pgMail(pool: pg.Pool, directory: PgDirectoryBackend): MailStore {
  const write = <T>(fn: (client: pg.PoolClient, signals: ChangeSignals) => Promise<T>) => signalledTransaction(pool, fn)
  const folderOf = async (folderId: number) => {
    const {rows} = await pool.query(`SELECT ${FOLDER_COLUMNS} FROM folders WHERE id = $1`, [folderId])
    return rows[0] ? folderFromRow(rows[0]) : undefined
  }

  return {
    folders: (user) => listFolders(pool, user),
    folder: async (user, name) => getFolder(pool, user, normalizeFolderName(name)),
    folderById: async (user, id) => {
      const folder = await folderOf(id)
      if (!folder || folder.user !== user || folder.noselect) throw new MailboxError('not-found', 'the folder no longer exists')
      return folder
    },
    usageByUser: () => usageByUser(pool),
    usage: (user) => usageOfUser(pool, user),
    createFolder: (user, name, specialUse) => write((client) => createFolderIn(client, user, name, specialUse)),
    renameFolder: (user, from, to) => write((client) => renameFolderIn(client, user, from, to)),
    deleteFolder: (user, name) => write((client, signals) => deleteFolderIn(client, signals, user, name)),
    subscribe: (user, name, subscribed) => write((client) => subscribeIn(client, user, name, subscribed)),
    subscriptions: (user) => listSubscriptions(pool, user),

    messages: async (folderId, options = {}) => {
      const limit = options.limit ? ' LIMIT $2' : ''
      const {rows} = await pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE folder_id = $1 ORDER BY uid${limit}`, options.limit ? [folderId, options.limit] : [folderId])
      return rows.map(messageFromRow)
    },
    message: async (folderId, uid) => {
      const {rows} = await pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE folder_id = $1 AND uid = $2`, [folderId, uid])
      return rows[0] ? messageFromRow(rows[0]) : undefined
    },
    changesSince: async (folderId, modseq): Promise<FolderCatchUp> => {
      const found = await changesSince(pool, folderId, modseq)
      if (found.resync || found.folder.noselect) return {whole: true}
      return {whole: false, folder: found.folder, changed: found.changed, vanished: found.vanished}
    },

    setFlags: (req) => write((client, signals) => setFlags(client, signals, req.user, req.mailboxId, req)),
    expunge: (req) => write((client, signals) => removeMessages(client, signals, req.user, req.mailboxId, req)),
    copy: (req) =>
      write(async (client, signals) => {
        // lock order: the user's row (quota), then the folders, source first (a MOVE writes it)
        const limits = req.move ? NO_LIMITS : await lockQuota(client, req.user)
        const source = await lockFolder(client, req.user, req.mailboxId)
        const dest = await selectableFolder(client, req.user, req.to)
        const {rows} = await client.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE folder_id = $1 AND uid = ANY ($2::bigint[]) ORDER BY uid`, [source.id, req.uids])
        const records = rows.map(messageFromRow)
        await checkQuota(client, req.user, limits, {messages: records.length, size: records.reduce((n, m) => n + m.size, 0)})
        await addBlobRefs(client, refCounts(records.map((m) => m.blobId)))
        const copied = await appendMessages(
          client,
          dest.id,
          records.map((m) => ({blobId: m.blobId, size: m.size, flags: m.flags, internalDate: m.internalDate})),
        )
        if (records.length) signals.folder(dest.id)
        const pairs = records.map((m, i): [number, number] => [m.uid, copied.appended![i]!.uid])
        const changes = [copied]
        // a move within one folder continues from the copy's state of it
        if (req.move) changes.push(await removeLocked(client, signals, dest.id === source.id ? copied.folder : source, {uids: records.map((m) => m.uid), onlyDeleted: false}))
        return {uidValidity: copied.folder.uidValidity, pairs, changes}
      }),
    append: (req) =>
      write(async (client, signals) => {
        const limits = await lockQuota(client, req.user)
        // the folder's refusals come first, as on LMDB
        const folder = await selectableFolder(client, req.user, req.folder)
        await checkQuota(client, req.user, limits, {messages: req.messages.length, size: req.messages.reduce((n, m) => n + m.raw.length, 0)})
        const messages = []
        for (const m of req.messages) {
          const blobId = await storeBlob(client, m.raw, {analysis: m.analysis}, 1)
          messages.push({blobId, flags: normalizeFlags(m.flags), size: m.raw.length, internalDate: m.internalDate ?? Date.now()})
        }
        const change = await appendMessages(client, folder.id, messages)
        signals.folder(folder.id)
        return change
      }),
    deliver: (input) => write((client, signals) => deliverIn(client, signals, directory, input)),

    blob: (id) => blobBytes(pool, id),
    blobInto: async (id, target, offset) => {
      const bytes = await blobBytes(pool, id)
      if (bytes === undefined) return undefined
      if (bytes.length <= target.length - offset) bytes.copy(target, offset)
      return bytes.length
    },
    blobInfo: (id) => blobInfo(pool, id),
    recentBlobs: (sinceMs, limit) => recentBlobs(pool, sinceMs, limit),
    cachedText: (id) => cachedText(pool, id),
    cacheText: (id, text) => cacheText(pool, id, text),
  }
}
