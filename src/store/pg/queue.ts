/**
 * The outbound queue in PostgreSQL, shared by every node: a node claims due entries with
 * `SELECT … FOR UPDATE SKIP LOCKED` (two nodes claiming at once pass over each other's rows
 * instead of waiting or taking the same entry) and holds each claim under a lease. A node that
 * dies mid-send stops renewing; once `lease_until` has passed (by the database's clock, the one
 * clock all nodes share), another node's claim takes the entry over. Delivery is therefore
 * at-least-once: a node that was only slow may find its entry taken and its outcome refused.
 *
 * Claiming, like the LMDB queue, moves an entry to `sending` and counts the attempt in the same
 * commit, before any dial.
 */
import type pg from 'pg'
import type {QueueEntry, QueuePriority, QueueRecipient, QueueState} from '../records.js'
import {releaseBlob} from './blobs.js'

const PRIORITY: Record<QueuePriority, number> = {high: 0, default: 1, bulk: 2}
const PRIORITY_NAME: QueuePriority[] = ['high', 'default', 'bulk']
const FINAL: QueueState[] = ['delivered', 'failed']

const ENTRY_COLUMNS = 'id, from_address, domain, recipients, blob_id, priority, state, attempts, created_at, due_at, last_error'

interface EntryRow {
  id: string
  from_address: string
  domain: string
  recipients: QueueRecipient[]
  blob_id: string
  priority: number
  state: QueueState
  attempts: number
  created_at: number
  due_at: number
  last_error: string | null
}

export function entryFromRow(row: EntryRow): QueueEntry {
  return {
    id: row.id,
    from: row.from_address,
    domain: row.domain,
    recipients: row.recipients,
    blobId: row.blob_id,
    priority: PRIORITY_NAME[row.priority]!,
    state: row.state,
    attempts: row.attempts,
    createdAt: row.created_at,
    nextAttemptAt: row.due_at,
    ...(row.last_error !== null ? {lastError: row.last_error} : {}),
  }
}

/** by priority, then due time: the order claims take entries in */
const byClaimOrder = (a: QueueEntry, b: QueueEntry) => PRIORITY[a.priority] - PRIORITY[b.priority] || a.nextAttemptAt - b.nextAttemptAt

/** A new entry (not `sending`: only a claim makes that); its blob reference is the caller's. Inside `transaction()`. */
export async function putQueueEntry(client: pg.ClientBase, entry: QueueEntry): Promise<void> {
  if (entry.state === 'sending') throw new Error('a queue entry is put as queued, deferred or held; a claim makes it sending')
  await client.query(
    `INSERT INTO queue (${ENTRY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      entry.id,
      entry.from,
      entry.domain,
      JSON.stringify(entry.recipients),
      entry.blobId,
      PRIORITY[entry.priority],
      entry.state,
      entry.attempts,
      entry.createdAt,
      entry.nextAttemptAt,
      entry.lastError ?? null,
    ],
  )
}

export interface ClaimOptions {
  /** this node's id: the lease owner */
  owner: string
  /** at most this many entries */
  limit: number
  /** how long the claim holds without renewal */
  leaseMs: number
  /** entries due by this time (epoch ms; due times are written by the nodes' clocks) */
  now?: number
}

/**
 * Claims up to `limit` entries for `owner`: first entries another node was sending whose lease
 * has run out (they were due before anything still queued), then entries queued or deferred and
 * due by `now`, highest priority and earliest due first. Each becomes `sending` under this node's
 * lease, attempts + 1, in one statement that commits on its own; an entry another node is
 * claiming at the same moment is skipped, never waited for or shared. (Two locked selects rather
 * than one with OR: each walks its own partial index and stops at the limit, where the OR had to
 * sort every due entry.) Returned by priority, then due time.
 */
export async function claimDue(db: pg.Pool | pg.ClientBase, options: ClaimOptions): Promise<QueueEntry[]> {
  const {rows} = await db.query(
    `WITH expired AS (
       SELECT id FROM queue
        WHERE state = 'sending' AND lease_until < now()
        ORDER BY lease_until
        LIMIT $2
        FOR UPDATE SKIP LOCKED
     ), due AS (
       SELECT id FROM queue
        WHERE state IN ('queued', 'deferred') AND due_at <= $3
        ORDER BY priority, due_at
        LIMIT greatest($2 - (SELECT count(*) FROM expired), 0)
        FOR UPDATE SKIP LOCKED
     ), picked AS (
       SELECT id FROM expired UNION ALL SELECT id FROM due
     )
     UPDATE queue SET state = 'sending', attempts = attempts + 1,
                      lease_owner = $1, lease_until = now() + make_interval(secs => $4::double precision / 1000)
       FROM picked WHERE queue.id = picked.id
     RETURNING ${ENTRY_COLUMNS.split(', ').map((c) => `queue.${c}`).join(', ')}`,
    [options.owner, options.limit, options.now ?? Date.now(), options.leaseMs],
  )
  return rows.map(entryFromRow).sort(byClaimOrder)
}

/** Extends this node's leases on `ids` (a long send); returns the ids it still holds. */
export async function renewLeases(db: pg.Pool | pg.ClientBase, owner: string, ids: string[], leaseMs: number): Promise<string[]> {
  const {rows} = await db.query(
    `UPDATE queue SET lease_until = now() + make_interval(secs => $3::double precision / 1000)
      WHERE id = ANY($2) AND state = 'sending' AND lease_owner = $1
      RETURNING id`,
    [owner, ids, leaseMs],
  )
  return rows.map((r) => r.id)
}

export type Outcome = Pick<QueueEntry, 'recipients'> & {state: 'delivered' | 'failed' | 'deferred' | 'queued'; nextAttemptAt?: number; lastError?: string}

/**
 * Records the outcome of this node's attempt, inside `transaction()`: only while the entry is
 * still this node's claim. False when it is not (the lease ran out and another node took it
 * over: that node's attempt decides). A final outcome releases the entry's blob reference.
 */
export async function finishClaim(client: pg.ClientBase, owner: string, id: string, outcome: Outcome): Promise<boolean> {
  const {rows} = await client.query(
    `UPDATE queue SET state = $3, recipients = $4, due_at = coalesce($5, due_at), last_error = $6,
                      lease_owner = NULL, lease_until = NULL
      WHERE id = $2 AND state = 'sending' AND lease_owner = $1
      RETURNING blob_id`,
    [owner, id, outcome.state, JSON.stringify(outcome.recipients), outcome.nextAttemptAt ?? null, outcome.lastError ?? null],
  )
  if (rows.length === 0) return false
  if (FINAL.includes(outcome.state)) await releaseBlob(client, rows[0].blob_id)
  return true
}

export async function getQueueEntry(db: pg.Pool | pg.ClientBase, id: string): Promise<(QueueEntry & {leaseOwner?: string}) | undefined> {
  const {rows} = await db.query(`SELECT ${ENTRY_COLUMNS}, lease_owner FROM queue WHERE id = $1`, [id])
  if (!rows[0]) return undefined
  return {...entryFromRow(rows[0]), ...(rows[0].lease_owner ? {leaseOwner: rows[0].lease_owner} : {})}
}
