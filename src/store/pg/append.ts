/**
 * Adding a message to a folder in PostgreSQL: the UID comes from the folder row's `uid_next` in
 * the same statement as the insert, in the caller's transaction. The UPDATE locks the folder row
 * until COMMIT, so appends to one folder from any number of nodes run one after another: UIDs
 * have no gaps (a rolled-back append rolls `uid_next` back with it), and a higher UID is always
 * committed after a lower one (no reader ever sees UID n+1 without UID n). Each append also takes
 * a new HIGHESTMODSEQ for the message. Appends to different folders do not wait for each other.
 */
import type pg from 'pg'
import {MailboxError} from '../../errors.js'

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
 * Appends a message (its blob must exist, with a reference counted for it) inside `transaction()`.
 * A folder that is gone or a `\Noselect` placeholder is `not-found`.
 */
export async function appendMessage(client: pg.ClientBase, folderId: number, message: NewMessage): Promise<Appended> {
  const unseen = message.flags.includes('\\Seen') ? 0 : 1
  const {rows} = await client.query(
    `WITH folder AS (
       UPDATE folders
          SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
              messages = messages + 1, unseen = unseen + $2, size = size + $3
        WHERE id = $1 AND NOT noselect
        RETURNING id, uid_next - 1 AS uid, highest_modseq AS modseq
     )
     INSERT INTO messages (folder_id, uid, blob_id, flags, internal_date, size, modseq)
     SELECT id, uid, $4, $5, $6, $3, modseq FROM folder
     RETURNING uid, modseq`,
    [folderId, unseen, message.size, message.blobId, message.flags, message.internalDate],
  )
  if (rows.length === 0) throw new MailboxError('not-found', 'no such folder')
  return rows[0]
}
