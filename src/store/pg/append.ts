/**
 * Adding messages to a folder in PostgreSQL: the UIDs come from the folder row's `uid_next` in
 * the same statement as the inserts, in the caller's transaction. The UPDATE locks the folder row
 * until COMMIT, so appends to one folder from any number of nodes run one after another: UIDs
 * have no gaps (a rolled-back append rolls `uid_next` back with it), and a higher UID is always
 * committed after a lower one (no reader ever sees UID n+1 without UID n). Each message also gets
 * a new HIGHESTMODSEQ of its own. Appends to different folders do not wait for each other.
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'
import type {FolderChange} from '../backend.js'
import type {MessageRecord} from '../records.js'
import {isSeen} from '../flag-change.js'
import {FOLDER_COLUMNS, folderFromRow} from './folders.js'

export interface NewMessage {
  blobId: string
  flags: string[]
  internalDate: number
  size: number
}

export interface Appended {
  uid: number
  modseq: number
}

/**
 * Appends messages (their blobs must exist, with a reference counted for each) to a folder, in
 * one statement inside `transaction()`: UIDs and MODSEQs in the order given, the counters once.
 * A folder that is gone or a `\Noselect` placeholder is `not-found`. No messages: the folder as
 * it is (locked all the same).
 */
export async function appendMessages(client: pg.ClientBase, folderId: number, messages: NewMessage[]): Promise<FolderChange> {
  const n = messages.length
  const unseen = messages.filter((m) => !isSeen(m.flags)).length
  const size = messages.reduce((sum, m) => sum + m.size, 0)
  const {rows} = await client.query(
    `WITH folder AS (
       UPDATE folders
          SET uid_next = uid_next + $2, highest_modseq = highest_modseq + $2,
              messages = messages + $2, unseen = unseen + $3, size = size + $4
        WHERE id = $1 AND NOT noselect
        RETURNING ${FOLDER_COLUMNS}, uid_next - $2 AS first_uid, highest_modseq - $2 AS modseq_before
     ), added AS (
       INSERT INTO messages (folder_id, uid, blob_id, flags, internal_date, size, modseq)
       SELECT f.id, f.first_uid + m.i - 1, m.blob_id, ARRAY(SELECT jsonb_array_elements_text(m.flags)), m.internal_date, m.size, f.modseq_before + m.i
         FROM folder AS f, unnest($5::text[], $6::jsonb[], $7::bigint[], $8::bigint[]) WITH ORDINALITY AS m(blob_id, flags, internal_date, size, i)
     )
     SELECT * FROM folder`,
    [folderId, n, unseen, size, messages.map((m) => m.blobId), messages.map((m) => JSON.stringify(m.flags)), messages.map((m) => m.internalDate), messages.map((m) => m.size)],
  )
  const row = rows[0]
  if (!row) throw new MailboxError('not-found', 'the folder no longer exists')
  const appended: MessageRecord[] = messages.map((m, i) => ({uid: row.first_uid + i, blobId: m.blobId, flags: m.flags, internalDate: m.internalDate, size: m.size, modseq: row.modseq_before + 1 + i}))
  return {folder: folderFromRow(row), modseqBefore: row.modseq_before, appended}
}

/** Appends one message (see appendMessages). */
export async function appendMessage(client: pg.ClientBase, folderId: number, message: NewMessage): Promise<Appended> {
  const {appended} = await appendMessages(client, folderId, [message])
  return {uid: appended![0]!.uid, modseq: appended![0]!.modseq}
}
