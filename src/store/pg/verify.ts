/**
 * `mailbox verify` on PostgreSQL (see ../verify.ts): the snapshot's facts from one READ ONLY,
 * REPEATABLE READ transaction (no locks: serving nodes go on), each table through a cursor in any
 * order (the checker needs none within a kind), never reading blob bytes; and the repairs, each one transaction that locks its row and checks the fact again.
 *
 * What the schema rules out is not looked for twice: foreign keys keep every message's folder
 * and blob (bytes and info), every info record's bytes and every delivery log row's queue entry;
 * the queue needs no index of its own. What can drift is what is counted: folder counters,
 * UIDNEXT and HIGHESTMODSEQ (above the expunge tombstones' too), `subscribed`, blob references, bytes nobody uses, a live queue
 * entry's blob (no foreign key: a finished entry keeps naming the blob it released).
 */
import type pg from 'pg'
import type {MailboxRecord} from '../records.js'
import type {Fact, FactSource} from '../verify.js'
import {CHANGED, type FolderName, type RepairOutcome, type StoreRepairs} from '../verify-repair.js'
import {signalledTransaction} from './changes.js'
import {transaction} from './connect.js'
import {FOLDER_COLUMNS, folderFromRow} from './folders.js'
import {ENTRY_COLUMNS, entryFromRow} from './queue.js'
import {openSnapshot} from './transfer.js'

const TABLES = ['users', 'folders', 'subscriptions', 'blob_info', 'messages', 'vanished', 'queue', 'delivery_log']

/** rows fetched per round trip */
const FETCH_ROWS = 2000

/** every row of `sql`, through a cursor of the snapshot's transaction: one plan for the whole table, a batch held at a time */
async function* rows(client: pg.ClientBase, sql: string): AsyncGenerator<any> {
  await client.query(`DECLARE verify_rows NO SCROLL CURSOR FOR ${sql}`)
  try {
    for (;;) {
      const batch = await client.query(`FETCH ${FETCH_ROWS} FROM verify_rows`)
      yield* batch.rows
      if (batch.rows.length < FETCH_ROWS) return
    }
  } finally {
    await client.query('CLOSE verify_rows')
  }
}

export async function pgFacts(pool: pg.Pool): Promise<FactSource> {
  const {client, close} = await openSnapshot(pool)
  return {
    total: async () => (await client.query(`SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t})`).join(' + ')} AS n`)).rows[0].n,
    async *facts(): AsyncGenerator<Fact> {
      yield {kind: 'counters', ...(await countersOf(client))}
      for await (const row of rows(client, 'SELECT address FROM users')) yield {kind: 'user', address: row.address}
      for await (const row of rows(client, `SELECT ${FOLDER_COLUMNS} FROM folders`)) yield {kind: 'folder', value: folderFromRow(row)}
      for await (const row of rows(client, 'SELECT user_address, name FROM subscriptions')) yield {kind: 'subscription', user: row.user_address, name: row.name}
      for await (const row of rows(client, 'SELECT i.blob_id, i.refs, b.id IS NOT NULL AS bytes FROM blob_info i LEFT JOIN blobs b ON b.id = i.blob_id')) {
        yield {kind: 'blob', id: row.blob_id, refs: row.refs, bytes: row.bytes}
      }
      for await (const row of rows(client, 'SELECT id FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM blob_info i WHERE i.blob_id = b.id)')) yield {kind: 'bytes', id: row.id}
      for await (const row of rows(client, 'SELECT folder_id, uid, blob_id, flags, size, modseq FROM messages')) {
        yield {kind: 'message', value: {folderId: row.folder_id, uid: row.uid, blobId: row.blob_id, flags: row.flags, size: row.size, modseq: row.modseq}}
      }
      for await (const row of rows(client, 'SELECT folder_id, uid, modseq FROM vanished')) yield {kind: 'tombstone', folderId: row.folder_id, uid: row.uid, modseq: row.modseq}
      for await (const row of rows(client, `SELECT ${ENTRY_COLUMNS} FROM queue`)) yield {kind: 'queueEntry', value: entryFromRow(row)}
      for await (const row of rows(client, 'SELECT queue_id, attempt FROM delivery_log')) yield {kind: 'deliveryAttempt', queueId: row.queue_id, attempt: row.attempt}
    },
    close,
  }
}

/** the last UIDVALIDITY and folder id given out (the identity's sequence: its next value is the last one until first called) */
async function countersOf(client: pg.ClientBase): Promise<{lastFolderId: number; lastUidValidity: number}> {
  const sequence = (await client.query("SELECT pg_get_serial_sequence('folders', 'id') AS name")).rows[0].name
  const {rows} = await client.query(
    `SELECT (SELECT value FROM mailbox_meta WHERE key = 'lastUidValidity') AS uid_validity, s.last_value, s.is_called FROM ${sequence} s`,
  )
  return {lastUidValidity: rows[0].uid_validity ?? 0, lastFolderId: rows[0].is_called ? rows[0].last_value : rows[0].last_value - 1}
}

const NO_INDEX: RepairOutcome = {done: false, why: 'PostgreSQL keeps no queue index of its own'}

/** a repair that a constraint refused (a message still uses the blob): reported, nothing written */
async function refused(fn: () => Promise<RepairOutcome>): Promise<RepairOutcome> {
  try {
    return await fn()
  } catch (err) {
    if ((err as {code?: string}).code === '23503') return {done: false, why: `refused by the database: ${(err as Error).message}`}
    throw err
  }
}

export function pgRepairs(pool: pg.Pool): StoreRepairs {
  return {
    raiseCounters: () =>
      transaction(pool, async (client) => {
        // the counter's row lock: folder creations wait (./folders.ts nextUidValidity)
        await client.query("SELECT value FROM mailbox_meta WHERE key = 'lastUidValidity' FOR UPDATE")
        const before = await countersOf(client)
        await client.query("UPDATE mailbox_meta SET value = greatest(value, (SELECT max(uid_validity) FROM folders)) WHERE key = 'lastUidValidity'")
        await client.query(
          `SELECT setval(pg_get_serial_sequence('folders', 'id'), greatest($1::bigint, max(id)), true) FROM folders HAVING max(id) > $1`,
          [before.lastFolderId],
        )
        return {done: true, before, after: await countersOf(client)}
      }),

    repairFolder: (f: FolderName) =>
      signalledTransaction(pool, async (client, signals) => {
        const {rows} = await client.query(`SELECT ${FOLDER_COLUMNS} FROM folders WHERE user_address = $1 AND name = $2 FOR UPDATE`, [f.user, f.folder])
        if (!rows[0] || rows[0].id !== f.folderId) return CHANGED
        const before = folderFromRow(rows[0])
        const updated = await client.query(
          `WITH m AS (
             SELECT count(*) AS messages, count(*) FILTER (WHERE NOT ('\\Seen' = ANY (flags))) AS unseen, coalesce(sum(size), 0) AS size,
                    coalesce(max(uid), 0) AS max_uid, coalesce(max(modseq), 0) AS max_modseq
               FROM messages WHERE folder_id = $1),
           v AS (SELECT coalesce(max(uid), 0) AS max_uid, coalesce(max(modseq), 0) AS max_modseq FROM vanished WHERE folder_id = $1)
           UPDATE folders SET messages = m.messages, unseen = m.unseen, size = m.size,
                  uid_next = greatest(uid_next, m.max_uid + 1, v.max_uid + 1), highest_modseq = greatest(highest_modseq, m.max_modseq, v.max_modseq),
                  subscribed = EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_address = folders.user_address AND s.name = folders.name)
             FROM m, v WHERE id = $1 RETURNING ${FOLDER_COLUMNS.replace(/(\w+)/g, 'folders.$1')}`,
          [f.folderId],
        )
        signals.folder(f.folderId)
        const after: MailboxRecord = folderFromRow(updated.rows[0])
        return {done: true, before, after}
      }),

    repairBlobRefs: (blobId, seen) =>
      refused(() =>
        transaction(pool, async (client) => {
          const {rows} = await client.query('SELECT refs FROM blob_info WHERE blob_id = $1 FOR UPDATE', [blobId])
          if (!rows[0]) return CHANGED
          // every operation since the snapshot moved refs and uses alike: the drift is what it was
          const refs: number = rows[0].refs - (seen.refs - seen.uses)
          if (refs > 0) {
            await client.query('UPDATE blob_info SET refs = $2 WHERE blob_id = $1', [blobId, refs])
            return {done: true, before: rows[0].refs, after: refs}
          }
          await client.query('WITH info AS (DELETE FROM blob_info WHERE blob_id = $1) DELETE FROM blobs WHERE id = $1', [blobId])
          return {done: true, before: rows[0].refs, after: 0}
        }),
      ),

    removeOrphanBytes: (blobId) =>
      refused(async () => {
        const {rowCount} = await pool.query('DELETE FROM blobs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM blob_info WHERE blob_id = $1)', [blobId])
        return rowCount ? {done: true} : CHANGED
      }),

    removeOrphanAttempt: async (queueId, attempt) => {
      const {rowCount} = await pool.query('DELETE FROM delivery_log WHERE queue_id = $1 AND attempt = $2 AND NOT EXISTS (SELECT 1 FROM queue WHERE id = $1)', [queueId, attempt])
      return rowCount ? {done: true} : CHANGED
    },

    removeIndexKey: async () => NO_INDEX,
    addIndexKey: async () => NO_INDEX,
  }
}
