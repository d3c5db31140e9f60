/**
 * Catching up on a folder by MODSEQ: what a node (or a CONDSTORE/QRESYNC client) that last saw a
 * folder at MODSEQ n needs to know: the messages changed since (new or with new flags) and the
 * UIDs expunged since (the `vanished` tombstones). A change signal (./changes.ts) only says
 * "folder f is now at MODSEQ m"; this is how the node learns what that was, and also how it
 * recovers after a `resync` (signals it may have missed).
 *
 * Tombstones are pruned after `DEFAULT_VANISHED_KEEP_MS`; the folder then remembers up to which
 * MODSEQ (`vanished_floor`), and anyone asking from before that is told to resync the folder
 * whole (as QRESYNC lets a server do: a full UID list instead of VANISHED).
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import {transaction} from './connect.js'
import type {MailboxRecord, MessageRecord} from '../records.js'
import {FOLDER_COLUMNS, folderFromRow} from './folders.js'
import {MESSAGE_COLUMNS, messageFromRow, type MessageRow} from './message-changes.js'

/** how long an expunge's tombstones are kept (default 7 days): a view silent for longer resyncs whole */
export const DEFAULT_VANISHED_KEEP_MS = 7 * 24 * 3_600_000
/** tombstones one prune call deletes at most (one short transaction; call again while it returns this many) */
export const VANISHED_PRUNE_BATCH = 10_000

export type CatchUp =
  | {resync: false; uidValidity: number; highestModseq: number; folder: MailboxRecord; changed: MessageRecord[]; vanished: number[]}
  /** the MODSEQ asked from is older than the kept tombstones (or newer than the folder): list the folder whole */
  | {resync: true; uidValidity: number; highestModseq: number}

/**
 * What changed in folder `folderId` after MODSEQ `since`: messages with a higher MODSEQ (by UID)
 * and UIDs expunged after it, read from one snapshot. A folder that is gone is `not-found`.
 */
export async function changesSince(pool: pg.Pool, folderId: number, since: number): Promise<CatchUp> {
  return transaction(
    pool,
    async (client) => {
      const folder = await client.query(`SELECT ${FOLDER_COLUMNS}, vanished_floor FROM folders WHERE id = $1`, [folderId])
      const row = folder.rows[0]
      if (!row) throw new MailboxError('not-found', 'no such folder')
      const base = {uidValidity: row.uid_validity as number, highestModseq: row.highest_modseq as number}
      if (since < row.vanished_floor || since > row.highest_modseq) return {resync: true, ...base}
      const changed = await client.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE folder_id = $1 AND modseq > $2 ORDER BY uid`, [folderId, since])
      const vanished = await client.query<{uid: number}>('SELECT uid FROM vanished WHERE folder_id = $1 AND modseq > $2 ORDER BY uid', [folderId, since])
      return {resync: false, ...base, folder: folderFromRow(row), changed: changed.rows.map(messageFromRow), vanished: vanished.rows.map((r) => r.uid)}
    },
    {isolation: 'repeatable read'},
  )
}

/**
 * Drops tombstones older than `keepMs` (by the database's clock), at most VANISHED_PRUNE_BATCH,
 * raising each affected folder's floor to the highest MODSEQ dropped. Returns how many went.
 */
export async function pruneVanished(pool: pg.Pool, keepMs = DEFAULT_VANISHED_KEEP_MS, batch = VANISHED_PRUNE_BATCH): Promise<number> {
  return transaction(pool, async (client) => {
    const {rows} = await client.query<{n: number}>(
      `WITH gone AS (
         DELETE FROM vanished WHERE (folder_id, uid) IN (
           SELECT folder_id, uid FROM vanished WHERE expunged_at < now() - $1 * interval '1 millisecond' LIMIT $2
         ) RETURNING folder_id, modseq
       ), floors AS (
         UPDATE folders AS f SET vanished_floor = greatest(f.vanished_floor, g.top)
           FROM (SELECT folder_id, max(modseq) AS top FROM gone GROUP BY folder_id) AS g
          WHERE f.id = g.folder_id
       )
       SELECT count(*)::bigint AS n FROM gone`,
      [keepMs, batch],
    )
    return rows[0]!.n
  })
}
