/**
 * Flag changes and expunges in PostgreSQL, the two changes besides appends that other nodes'
 * views must catch up on (./catch-up.ts). Each locks the folder row first (the lock an append
 * takes, see ./append.ts, so changes to one folder from all nodes run one after another in one
 * lock order), takes one new MODSEQ from it for everything it changes, keeps the folder's counts,
 * writes an expunge's tombstones in `vanished`, and signals the folder (./changes.ts). The rules
 * of what changes are the LMDB store's (../flag-change.ts). Call inside `signalledTransaction()`.
 */
import type pg from 'pg'
import type {FlagMode} from '../../mailstore/flags.js'
import {normalizeFlags} from '../../mailstore/flags.js'
import type {FolderChange} from '../backend.js'
import {isSeen, nextFlags, sameFlags} from '../flag-change.js'
import type {MessageRecord} from '../records.js'
import {refCounts, releaseBlobs} from './blobs.js'
import type {ChangeSignals} from './changes.js'
import {FOLDER_COLUMNS, folderFromRow, lockFolder} from './folders.js'

export const MESSAGE_COLUMNS = 'uid, blob_id, flags, internal_date, size, modseq'

export interface MessageRow {
  uid: number
  blob_id: string
  flags: string[]
  internal_date: number
  size: number
  modseq: number
}

export const messageFromRow = (row: MessageRow): MessageRecord => ({uid: row.uid, blobId: row.blob_id, flags: row.flags, internalDate: row.internal_date, size: row.size, modseq: row.modseq})

export interface FlagChange {
  uids: number[]
  mode: FlagMode
  flags: string[]
  /** CONDSTORE: messages changed after this MODSEQ are left alone and reported in `modified` */
  unchangedSince?: number
}

/**
 * Changes the flags of `uids` (missing ones skipped, each once) in a user's folder. Only messages
 * whose flags really change are written; they share the one new MODSEQ (no change: no MODSEQ, no
 * signal, the folder record as it was).
 */
export async function setFlags(client: pg.ClientBase, signals: ChangeSignals, user: string, folderId: number, change: FlagChange): Promise<FolderChange & {modified: number[]}> {
  const flags = normalizeFlags(change.flags)
  const folder = await lockFolder(client, user, folderId)
  const {rows} = await client.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE folder_id = $1 AND uid = ANY ($2::bigint[]) ORDER BY uid`, [folder.id, change.uids])
  const modseq = folder.highestModseq + 1
  const updated: MessageRecord[] = []
  const modified: number[] = []
  let unseen = folder.unseen
  for (const m of rows.map(messageFromRow)) {
    if (change.unchangedSince !== undefined && m.modseq > change.unchangedSince) {
      modified.push(m.uid)
      continue
    }
    const next = nextFlags(m.flags, change.mode, flags)
    if (sameFlags(next, m.flags)) continue
    unseen += (isSeen(m.flags) ? 1 : 0) - (isSeen(next) ? 1 : 0)
    updated.push({...m, flags: next, modseq})
  }
  if (updated.length === 0) return {folder, modseqBefore: folder.highestModseq, updated, modified}
  await client.query(
    `UPDATE messages AS m SET flags = ARRAY(SELECT jsonb_array_elements_text(c.flags)), modseq = $2
       FROM unnest($3::bigint[], $4::jsonb[]) AS c(uid, flags)
      WHERE m.folder_id = $1 AND m.uid = c.uid`,
    [folder.id, modseq, updated.map((m) => m.uid), updated.map((m) => JSON.stringify(m.flags))],
  )
  const after = await client.query(`UPDATE folders SET highest_modseq = $2, unseen = $3 WHERE id = $1 RETURNING ${FOLDER_COLUMNS}`, [folder.id, modseq, unseen])
  signals.folder(folder.id)
  return {folder: folderFromRow(after.rows[0]), modseqBefore: folder.highestModseq, updated, modified}
}

export interface Removal {
  /** only these UIDs; absent: every message of the folder */
  uids?: number[]
  /** only those flagged \Deleted among them (IMAP EXPUNGE) */
  onlyDeleted: boolean
}

/**
 * Removes messages from a user's folder: one new MODSEQ for the expunge, a tombstone per UID under
 * it, the counters, the blob references released (the last one deletes the bytes). Returns the
 * expunged UIDs in order (none: no MODSEQ, no signal).
 */
export async function removeMessages(client: pg.ClientBase, signals: ChangeSignals, user: string, folderId: number, removal: Removal): Promise<FolderChange> {
  const folder = await lockFolder(client, user, folderId)
  return removeLocked(client, signals, folder, removal)
}

/** removeMessages of a folder the transaction has locked already (MOVE: the source after the copy) */
export async function removeLocked(client: pg.ClientBase, signals: ChangeSignals, folder: FolderChange['folder'], removal: Removal): Promise<FolderChange> {
  const {rows} = await client.query<{uid: number; blob_id: string; size: number; flags: string[]}>(
    `DELETE FROM messages
      WHERE folder_id = $1 AND ($2::bigint[] IS NULL OR uid = ANY ($2::bigint[])) AND (NOT $3 OR '\\Deleted' = ANY (flags))
     RETURNING uid, blob_id, size, flags`,
    [folder.id, removal.uids ?? null, removal.onlyDeleted],
  )
  if (rows.length === 0) return {folder, modseqBefore: folder.highestModseq, expunged: []}
  const uids = rows.map((r) => r.uid).sort((a, b) => a - b)
  const size = rows.reduce((sum, r) => sum + r.size, 0)
  const unseen = rows.filter((r) => !isSeen(r.flags)).length
  const {rows: after} = await client.query(
    `WITH folder AS (
       UPDATE folders SET highest_modseq = highest_modseq + 1, messages = messages - $2, unseen = unseen - $3, size = size - $4
        WHERE id = $1 RETURNING ${FOLDER_COLUMNS}
     ), tombstones AS (
       INSERT INTO vanished (folder_id, uid, modseq) SELECT $1, uid, (SELECT highest_modseq FROM folder) FROM unnest($5::bigint[]) AS uid
     )
     SELECT * FROM folder`,
    [folder.id, rows.length, unseen, size, uids],
  )
  await releaseBlobs(client, refCounts(rows.map((r) => r.blob_id)))
  signals.folder(folder.id)
  return {folder: folderFromRow(after[0]), modseqBefore: folder.highestModseq, expunged: uids}
}
