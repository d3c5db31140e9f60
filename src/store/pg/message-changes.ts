/**
 * Flag changes and expunges in PostgreSQL, the two changes besides appends that other nodes'
 * views must catch up on (./catch-up.ts). Each takes one new MODSEQ from the folder row (as
 * appends do, see ./append.ts) for everything it changes, writes an expunge's tombstones in
 * `vanished`, and signals the folder (./changes.ts). The folder row is locked first, as an append
 * locks it, so changes to one folder from all nodes run one after another in one lock order.
 * Call inside `signalledTransaction()`.
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import {releaseBlob} from './blobs.js'
import type {ChangeSignals} from './changes.js'

export interface MessageFlags {
  uid: number
  flags: string[]
  modseq: number
}

export type FlagChange = {mode: 'add' | 'remove' | 'set'; flags: string[]}

/** locks the folder row (the lock every change to a folder's messages takes first) */
async function lockFolder(client: pg.ClientBase, folderId: number): Promise<void> {
  const {rowCount} = await client.query('SELECT 1 FROM folders WHERE id = $1 AND NOT noselect FOR UPDATE', [folderId])
  if (rowCount !== 1) throw new MailboxError('not-found', 'no such folder')
}

/**
 * Adds, removes or sets flags on the messages `uids` of a folder. Only messages whose flags
 * actually change get the new MODSEQ; returns them (none changed: no new MODSEQ, no signal).
 */
export async function setFlags(client: pg.ClientBase, signals: ChangeSignals, folderId: number, uids: number[], change: FlagChange): Promise<MessageFlags[]> {
  await lockFolder(client, folderId)
  const {rows} = await client.query<MessageFlags>(
    `WITH target AS (
       SELECT uid, flags AS old,
              CASE $3::text
                WHEN 'add' THEN ARRAY(SELECT DISTINCT f FROM unnest(flags || $4::text[]) AS f ORDER BY f)
                WHEN 'remove' THEN ARRAY(SELECT f FROM unnest(flags) AS f WHERE f <> ALL ($4::text[]) ORDER BY f)
                ELSE ARRAY(SELECT DISTINCT f FROM unnest($4::text[]) AS f ORDER BY f)
              END AS new
         FROM messages WHERE folder_id = $1 AND uid = ANY ($2::bigint[])
     ), changed AS (
       SELECT uid, old, new FROM target WHERE NOT (old @> new AND new @> old)
     ), folder AS (
       UPDATE folders
          SET highest_modseq = highest_modseq + 1,
              unseen = unseen
                - (SELECT count(*) FROM changed WHERE '\\Seen' = ANY (new) AND NOT '\\Seen' = ANY (old))
                + (SELECT count(*) FROM changed WHERE '\\Seen' = ANY (old) AND NOT '\\Seen' = ANY (new))
        WHERE id = $1 AND EXISTS (SELECT 1 FROM changed)
        RETURNING highest_modseq
     )
     UPDATE messages AS m SET flags = changed.new, modseq = folder.highest_modseq
       FROM changed, folder
      WHERE m.folder_id = $1 AND m.uid = changed.uid
     RETURNING m.uid, m.flags, m.modseq`,
    [folderId, uids, change.mode, change.flags],
  )
  if (rows.length) signals.folder(folderId)
  return rows.sort((a, b) => a.uid - b.uid)
}

/**
 * Removes the folder's messages flagged `\Deleted` (only those among `uids`, when given: UID
 * EXPUNGE), releases their blobs and leaves a tombstone per UID under the expunge's MODSEQ.
 * Returns the expunged UIDs in order.
 */
export async function expunge(client: pg.ClientBase, signals: ChangeSignals, folderId: number, uids?: number[]): Promise<number[]> {
  await lockFolder(client, folderId)
  const {rows} = await client.query<{uid: number; blob_id: string}>(
    `WITH gone AS (
       DELETE FROM messages
        WHERE folder_id = $1 AND '\\Deleted' = ANY (flags) AND ($2::bigint[] IS NULL OR uid = ANY ($2::bigint[]))
        RETURNING uid, blob_id, size, flags
     ), folder AS (
       UPDATE folders
          SET highest_modseq = highest_modseq + 1,
              messages = messages - (SELECT count(*) FROM gone),
              unseen = unseen - (SELECT count(*) FROM gone WHERE NOT '\\Seen' = ANY (flags)),
              size = size - (SELECT coalesce(sum(size), 0) FROM gone)
        WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)
        RETURNING highest_modseq
     ), tombstones AS (
       INSERT INTO vanished (folder_id, uid, modseq) SELECT $1, gone.uid, folder.highest_modseq FROM gone, folder
     )
     SELECT uid, blob_id FROM gone ORDER BY uid`,
    [folderId, uids ?? null],
  )
  const perBlob = new Map<string, number>()
  for (const row of rows) perBlob.set(row.blob_id, (perBlob.get(row.blob_id) ?? 0) + 1)
  for (const [blobId, n] of perBlob) await releaseBlob(client, blobId, n)
  if (rows.length) signals.folder(folderId)
  return rows.map((r) => r.uid)
}
