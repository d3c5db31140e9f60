/**
 * Message bytes in PostgreSQL, stored once and reference-counted, as in the LMDB store
 * (../lmdb-blobs.ts): `blobs` holds the bytes, `blob_info` the count and what IMAP needs
 * without reading them. A blob goes when its last reference does. Call inside `transaction()`.
 */
import type pg from 'pg'
import type {BlobInfoRecord} from '../records.js'

/** Stores a new blob with `info.refs` references (its bytes are written once, here). */
export async function putBlob(client: pg.ClientBase, blobId: string, bytes: Buffer, info: BlobInfoRecord): Promise<void> {
  // one statement (one round trip on every delivery); the info's foreign key is checked at its end, with the bytes there
  await client.query(
    `WITH bytes AS (INSERT INTO blobs (id, bytes) VALUES ($1, $11))
     INSERT INTO blob_info (blob_id, refs, size, created_at, mail_from, rcpt_to, crlf_size, envelope, structure, summary)
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
      bytes,
    ],
  )
}

/** `n` more messages or queue entries use the blob; a missing blob is an error (the caller's bug). */
export async function addBlobRef(client: pg.ClientBase, blobId: string, n = 1): Promise<void> {
  await addBlobRefs(client, new Map([[blobId, n]]))
}

/** `n` more users of each blob (COPY: one statement however many messages) */
export async function addBlobRefs(client: pg.ClientBase, counts: ReadonlyMap<string, number>): Promise<void> {
  if (counts.size === 0) return
  const {rowCount} = await client.query('UPDATE blob_info AS b SET refs = b.refs + d.n FROM unnest($1::text[], $2::integer[]) AS d(id, n) WHERE b.blob_id = d.id', [
    [...counts.keys()],
    [...counts.values()],
  ])
  if (rowCount !== counts.size) throw new Error(`${counts.size - (rowCount ?? 0)} of ${counts.size} blobs have no info record`)
}

/** `n` fewer users of the blob; the last one gone deletes its bytes, info and text. */
export async function releaseBlob(client: pg.ClientBase, blobId: string, n = 1): Promise<void> {
  await releaseBlobs(client, new Map([[blobId, n]]))
}

/** How many references each blob loses (one per message of `blobIds`, in any order). */
export function refCounts(blobIds: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const id of blobIds) counts.set(id, (counts.get(id) ?? 0) + 1)
  return counts
}

/**
 * Drops `n` references of each blob (an expunge of many messages: two statements, not one per
 * blob); those left with none lose their info, bytes and search text. A blob without info is
 * skipped (released already).
 */
export async function releaseBlobs(client: pg.ClientBase, counts: ReadonlyMap<string, number>): Promise<void> {
  if (counts.size === 0) return
  const {rows} = await client.query<{blob_id: string; refs: number}>(
    `UPDATE blob_info AS b SET refs = greatest(b.refs - d.n, 0)
       FROM unnest($1::text[], $2::integer[]) AS d(id, n)
      WHERE b.blob_id = d.id
     RETURNING b.blob_id, b.refs`,
    [[...counts.keys()], [...counts.values()]],
  )
  const gone = rows.filter((r) => r.refs === 0).map((r) => r.blob_id)
  if (gone.length === 0) return
  // blob_text goes with the bytes (ON DELETE CASCADE); a message still pointing at one fails here (foreign key)
  await client.query('WITH info AS (DELETE FROM blob_info WHERE blob_id = ANY ($1::text[]) RETURNING blob_id) DELETE FROM blobs WHERE id IN (SELECT blob_id FROM info)', [gone])
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

interface BlobInfoRow {
  refs: number
  size: number
  created_at: number
  mail_from: string | null
  rcpt_to: string[] | null
  crlf_size: number | null
  envelope: BlobInfoRecord['envelope'] | null
  structure: BlobInfoRecord['structure'] | null
  summary: BlobInfoRecord['summary'] | null
}

const INFO_COLUMNS = 'refs, size, created_at, mail_from, rcpt_to, crlf_size, envelope, structure, summary'

/** a row as the record the LMDB store keeps: absent fields are left out, not null */
function infoFromRow(row: BlobInfoRow): BlobInfoRecord {
  return {
    refs: row.refs,
    size: row.size,
    createdAt: row.created_at,
    ...(row.mail_from !== null ? {mailFrom: row.mail_from} : {}),
    ...(row.rcpt_to !== null ? {rcptTo: row.rcpt_to} : {}),
    ...(row.envelope !== null ? {envelope: row.envelope} : {}),
    ...(row.structure !== null ? {structure: row.structure} : {}),
    ...(row.summary !== null ? {summary: row.summary} : {}),
    ...(row.crlf_size !== null ? {crlfSize: row.crlf_size} : {}),
  }
}

export async function blobInfo(db: pg.ClientBase | pg.Pool, blobId: string): Promise<BlobInfoRecord | undefined> {
  const {rows} = await db.query(`SELECT ${INFO_COLUMNS} FROM blob_info WHERE blob_id = $1`, [blobId])
  return rows[0] ? infoFromRow(rows[0]) : undefined
}

/**
 * Blobs made since `sinceMs`, oldest first, at most `limit`: ids start with their creation time
 * (src/ids.ts), so this is a range of the primary key, as on LMDB.
 */
export async function recentBlobs(db: pg.ClientBase | pg.Pool, sinceMs: number, limit: number): Promise<{id: string; info: BlobInfoRecord}[]> {
  const start = Math.max(0, Math.floor(sinceMs)).toString(36).padStart(9, '0')
  const {rows} = await db.query(`SELECT blob_id, ${INFO_COLUMNS} FROM blob_info WHERE blob_id >= $1 ORDER BY blob_id LIMIT $2`, [start, limit])
  return rows.map((row) => ({id: row.blob_id, info: infoFromRow(row)}))
}

export async function cachedText(db: pg.ClientBase | pg.Pool, blobId: string): Promise<string | undefined> {
  const {rows} = await db.query('SELECT text FROM blob_text WHERE blob_id = $1', [blobId])
  return rows[0]?.text
}

const FOREIGN_KEY_VIOLATION = '23503'

/**
 * Caches a blob's search text, unless the blob is gone (then nothing: the text is of no use). A
 * statement of its own, not a durability point: a lost cache entry is extracted again.
 */
export async function cacheText(db: pg.ClientBase | pg.Pool, blobId: string, text: string): Promise<void> {
  try {
    await db.query(
      `INSERT INTO blob_text (blob_id, text) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM blob_info WHERE blob_id = $1)
       ON CONFLICT (blob_id) DO UPDATE SET text = EXCLUDED.text`,
      [blobId, text],
    )
  } catch (err) {
    // the blob's last reference went between the check and the insert
    if ((err as {code?: string}).code !== FOREIGN_KEY_VIOLATION) throw err
  }
}
