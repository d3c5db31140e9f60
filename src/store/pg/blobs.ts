/**
 * Message bytes in PostgreSQL, stored once and reference-counted, as in the LMDB store
 * (src/mailstore/blobs.ts): `blobs` holds the bytes, `blob_info` the count and what IMAP needs
 * without reading them. A blob goes when its last reference does. Call inside `transaction()`.
 */
import type pg from 'pg'
import type {BlobInfoRecord} from '../records.js'

/** Stores a new blob with `info.refs` references (its bytes are written once, here). */
export async function putBlob(client: pg.ClientBase, blobId: string, bytes: Buffer, info: BlobInfoRecord): Promise<void> {
  await client.query('INSERT INTO blobs (id, bytes) VALUES ($1, $2)', [blobId, bytes])
  await client.query(
    `INSERT INTO blob_info (blob_id, refs, size, created_at, mail_from, rcpt_to, crlf_size, envelope, structure, summary)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      blobId,
      info.refs,
      info.size,
      info.createdAt,
      info.mailFrom ?? null,
      info.rcptTo ?? null,
      info.crlfSize ?? null,
      info.envelope === undefined ? null : JSON.stringify(info.envelope),
      info.structure === undefined ? null : JSON.stringify(info.structure),
      info.summary === undefined ? null : JSON.stringify(info.summary),
    ],
  )
}

/** `n` more messages or queue entries use the blob; a missing blob is an error (the caller's bug). */
export async function addBlobRef(client: pg.ClientBase, blobId: string, n = 1): Promise<void> {
  const {rowCount} = await client.query('UPDATE blob_info SET refs = refs + $2 WHERE blob_id = $1', [blobId, n])
  if (rowCount !== 1) throw new Error(`blob ${blobId} has no info record`)
}

/** `n` fewer users of the blob; the last one gone deletes its bytes, info and text. */
export async function releaseBlob(client: pg.ClientBase, blobId: string, n = 1): Promise<void> {
  const {rows} = await client.query('UPDATE blob_info SET refs = greatest(refs - $2, 0) WHERE blob_id = $1 RETURNING refs', [blobId, n])
  if (rows[0]?.refs !== 0) return
  await client.query('DELETE FROM blob_info WHERE blob_id = $1', [blobId])
  // blob_text goes with it (ON DELETE CASCADE); a message still pointing at it would fail here (foreign key)
  await client.query('DELETE FROM blobs WHERE id = $1', [blobId])
}

/** the raw bytes, or undefined */
export async function blobBytes(client: pg.ClientBase | pg.Pool, blobId: string): Promise<Buffer | undefined> {
  const {rows} = await client.query('SELECT bytes FROM blobs WHERE id = $1', [blobId])
  return rows[0]?.bytes
}

/** how many messages and queue entries use the blob (0: gone) */
export async function blobRefs(client: pg.ClientBase | pg.Pool, blobId: string): Promise<number> {
  const {rows} = await client.query('SELECT refs FROM blob_info WHERE blob_id = $1', [blobId])
  return rows[0]?.refs ?? 0
}
