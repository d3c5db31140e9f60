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
 *
 * `pgQueue(pool, node)` at the end is the whole `store.queue` (../backend.ts) on these tables, what
 * the foreman, `queue …` and the dashboard use; `putQueueEntry` is mail delivery's part.
 */
import type pg from 'pg'
import type {DuePosition, QueueOutcome, QueueStore} from '../backend.js'
import {CANDIDATES_SHOWN, DUE, FINAL, LISTED_STATES, QUEUE_STATES, beingSent, deletedMeanwhile, idNeedle, notAllowed, unmatchedId} from '../queue-rules.js'
import type {DeliveryAttemptRecord, QueueEntry, QueuePriority, QueueRecipient, QueueState} from '../records.js'
import {blobBytes, releaseBlob} from './blobs.js'
import {type ChangeSignals, signalledTransaction} from './changes.js'
import {transaction} from './connect.js'

const PRIORITY: Record<QueuePriority, number> = {high: 0, default: 1, bulk: 2}
const PRIORITY_NAME: QueuePriority[] = ['high', 'default', 'bulk']

export const ENTRY_COLUMNS = 'id, from_address, domain, recipients, blob_id, priority, state, attempts, created_at, due_at, last_error'

const DUE_STATES_SQL = `state IN ('queued', 'deferred')`
const RETURNING = `RETURNING ${ENTRY_COLUMNS}`
/** a lease of `$n` ms from now, by the database's clock */
const leaseUntil = (param: string) => `now() + make_interval(secs => ${param}::double precision / 1000)`

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
                      lease_owner = $1, lease_until = ${leaseUntil('$4')}
       FROM picked WHERE queue.id = picked.id
     RETURNING ${ENTRY_COLUMNS.split(', ').map((c) => `queue.${c}`).join(', ')}`,
    [options.owner, options.limit, options.now ?? Date.now(), options.leaseMs],
  )
  return rows.map(entryFromRow).sort(byClaimOrder)
}

/** Extends this node's leases on `ids` (a long send); returns the ids it still holds. */
export async function renewLeases(db: pg.Pool | pg.ClientBase, owner: string, ids: string[], leaseMs: number): Promise<string[]> {
  const {rows} = await db.query(
    `UPDATE queue SET lease_until = ${leaseUntil('$3')}
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


interface AttemptRow {
  queue_id: string
  attempt: number
  started_at: number
  ended_at: number
  host: string
  result: DeliveryAttemptRecord['result']
  transcript: string[]
  tls: DeliveryAttemptRecord['tls'] | null
}

const attemptFromRow = (r: AttemptRow): DeliveryAttemptRecord => ({
  queueId: r.queue_id,
  attempt: r.attempt,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  host: r.host,
  result: r.result,
  transcript: r.transcript,
  ...(r.tls ? {tls: r.tls} : {}),
})

const positionOf = (e: QueueEntry): DuePosition => [PRIORITY[e.priority], e.nextAttemptAt, e.id]

/**
 * The entry an administrator means (see ../queue-rules.ts); inside a transaction locked
 * (`FOR UPDATE`), so the change that follows acts on the state it checked.
 */
async function findLocked(client: pg.ClientBase | pg.Pool, given: string, lock = 'FOR UPDATE'): Promise<QueueEntry> {
  const exact = given ? await client.query(`SELECT ${ENTRY_COLUMNS} FROM queue WHERE id = $1 ${lock}`, [given]) : undefined
  if (exact?.rows[0]) return entryFromRow(exact.rows[0])
  const needle = idNeedle(given)
  const {rows} = await client.query(
    `SELECT id, count(*) OVER () AS total FROM queue
      WHERE starts_with(id, $1) OR right(id, length($1)) = $1
      ORDER BY id LIMIT ${CANDIDATES_SHOWN}`,
    [needle],
  )
  const total = rows.length ? Number(rows[0].total) : 0
  if (total !== 1) throw unmatchedId(given, rows.map((r) => r.id), total)
  const {rows: locked} = await client.query(`SELECT ${ENTRY_COLUMNS} FROM queue WHERE id = $1 ${lock}`, [rows[0].id])
  if (!locked[0]) throw unmatchedId(given, [])
  return entryFromRow(locked[0])
}

/**
 * Rewrites an entry that is not `sending` any more (an administrator's change, `queue fail`'s
 * last step), inside a transaction; clears any lease (only a claim makes `sending`). Releases the
 * blob when it becomes final; signals other nodes' foremen when it becomes due.
 */
async function rewrite(client: pg.ClientBase, signals: ChangeSignals, entry: QueueEntry, change: Partial<QueueEntry>): Promise<QueueEntry> {
  const next = {...entry, ...change}
  const {rows} = await client.query(
    `UPDATE queue SET state = $2, due_at = $3, recipients = $4, last_error = $5, lease_owner = NULL, lease_until = NULL
      WHERE id = $1 ${RETURNING}`,
    [next.id, next.state, next.nextAttemptAt, JSON.stringify(next.recipients), next.lastError ?? null],
  )
  if (FINAL.includes(next.state) && !FINAL.includes(entry.state)) await releaseBlob(client, entry.blobId)
  if (DUE.includes(next.state)) signals.queue(next.nextAttemptAt)
  return entryFromRow(rows[0])
}

/**
 * `store.queue` (../backend.ts) on PostgreSQL for the node `node` (its lease owner name): shared
 * by every node's foreman. Each write is one transaction; one that makes an entry due signals
 * `{"k":"q","d":dueAt}` at COMMIT (./changes.ts), so the foremen of other nodes can wake.
 */
export function pgQueue(pool: pg.Pool, node: string): QueueStore {
  /** an administrator's change of one entry: found and locked, its state checked, rewritten */
  const change = (id: string, allowed: QueueState[], verb: string, fn: (e: QueueEntry) => Partial<QueueEntry>) =>
    signalledTransaction(pool, async (client, signals) => {
      const entry = await findLocked(client, id)
      if (!allowed.includes(entry.state)) throw notAllowed(verb, entry.id, entry.state)
      return rewrite(client, signals, entry, fn(entry))
    })
  /** every entry in `states` (of one domain) due now, in one statement */
  const allDueNow = (states: QueueState[], domain?: string) =>
    signalledTransaction(pool, async (client, signals) => {
      const now = Date.now()
      const {rows} = await client.query(
        `UPDATE queue SET state = 'queued', due_at = $1 WHERE state = ANY($2) AND ($3::text IS NULL OR domain = $3) ${RETURNING}`,
        [now, states, domain ?? null],
      )
      if (rows.length) signals.queue(now)
      return rows.map(entryFromRow).sort(byClaimOrder)
    })

  return {
    leased: true,

    async due(now, scan, visit) {
      const {skip = () => false, maxKeys = 1000, after, progress} = scan
      const limit = Number.isFinite(maxKeys) ? maxKeys : 1000
      // claims of nodes that stopped renewing come first, on a scan from the front of the order
      const expired = after
        ? []
        : (await pool.query(`SELECT ${ENTRY_COLUMNS} FROM queue WHERE state = 'sending' AND lease_until < now() ORDER BY lease_until LIMIT $1`, [limit])).rows.map(entryFromRow)
      const {rows} = await pool.query(
        `SELECT ${ENTRY_COLUMNS} FROM queue
          WHERE ${DUE_STATES_SQL} AND due_at <= $1
            AND ($2::smallint IS NULL OR (priority, due_at, id) > ($2, $3, $4))
          ORDER BY priority, due_at, id LIMIT $5`,
        [now, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, Math.max(limit - expired.length, 0)],
      )
      const listed = [...expired, ...rows.map(entryFromRow)]
      for (const entry of listed) {
        if (entry.state !== 'sending' && progress) progress.last = positionOf(entry)
        if (skip(entry.id)) continue
        if (visit(entry) === false) return
      }
      if (progress && listed.length < limit) progress.ended = true
    },

    async claim(id, now, leaseMs) {
      const {rows} = await pool.query(
        `UPDATE queue SET state = 'sending', attempts = attempts + 1, lease_owner = $2, lease_until = ${leaseUntil('$4')}
          WHERE id = $1 AND ((${DUE_STATES_SQL} AND due_at <= $3) OR (state = 'sending' AND lease_until < now()))
          ${RETURNING}`,
        [id, node, now, leaseMs],
      )
      return rows[0] ? entryFromRow(rows[0]) : undefined
    },

    finish: (id, outcome: QueueOutcome) =>
      signalledTransaction(pool, async (client, signals) => {
        const {rows} = await client.query(
          `UPDATE queue SET state = $3, recipients = $4, due_at = $5, last_error = $6, lease_owner = NULL, lease_until = NULL
            WHERE id = $2 AND state = 'sending' AND lease_owner = $1
            ${RETURNING}`,
          [node, id, outcome.state, JSON.stringify(outcome.recipients), outcome.nextAttemptAt, outcome.lastError ?? null],
        )
        if (!rows[0]) return undefined // deleted, or taken over after this node's lease ran out
        const a = outcome.attempt
        await client.query(
          `INSERT INTO delivery_log (queue_id, attempt, started_at, ended_at, host, result, transcript, tls) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (queue_id, attempt) DO UPDATE SET started_at = $3, ended_at = $4, host = $5, result = $6, transcript = $7, tls = $8`,
          [id, a.attempt, a.startedAt, a.endedAt, a.host, a.result, JSON.stringify(a.transcript), a.tls ? JSON.stringify(a.tls) : null],
        )
        if (FINAL.includes(outcome.state)) await releaseBlob(client, rows[0].blob_id)
        else signals.queue(outcome.nextAttemptAt)
        return entryFromRow(rows[0])
      }),

    renewLeases: (ids, leaseMs) => renewLeases(pool, node, ids, leaseMs),

    recoverExpired: (now) =>
      signalledTransaction(pool, async (client, signals) => {
        // this node's own claims are from a run before this one (the node id outlives a restart)
        const {rowCount} = await client.query(
          `UPDATE queue SET state = 'queued', due_at = $2, lease_owner = NULL, lease_until = NULL
            WHERE state = 'sending' AND (lease_until < now() OR lease_owner = $1)`,
          [node, now],
        )
        if (rowCount) signals.queue(now)
        return rowCount ?? 0
      }),

    async entries(state) {
      const {rows} = await pool.query(
        `SELECT ${ENTRY_COLUMNS} FROM queue WHERE state = ANY($1)
          ORDER BY array_position($2::text[], state), priority, due_at, id`,
        [state ? [state] : LISTED_STATES, LISTED_STATES],
      )
      return rows.map(entryFromRow)
    },
    async entry(id) {
      const {rows} = await pool.query(`SELECT ${ENTRY_COLUMNS} FROM queue WHERE id = $1`, [id])
      return rows[0] ? entryFromRow(rows[0]) : undefined
    },
    find: (given) => findLocked(pool, given, ''),
    async attempts(id) {
      const {rows} = await pool.query('SELECT * FROM delivery_log WHERE queue_id = $1 ORDER BY attempt', [id])
      return rows.map(attemptFromRow)
    },
    message: (entry) => blobBytes(pool, entry.blobId),
    async nextDue() {
      const {rows} = await pool.query(
        `SELECT least(
           (SELECT min(due_at) FROM queue WHERE ${DUE_STATES_SQL}),
           (SELECT (extract(epoch FROM min(lease_until)) * 1000)::bigint FROM queue WHERE state = 'sending' AND lease_owner <> $1)
         ) AS at`,
        [node],
      )
      return rows[0].at ?? undefined
    },
    async counts() {
      const {rows} = await pool.query('SELECT state, count(*)::int AS n FROM queue GROUP BY state')
      const counts = Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>
      for (const r of rows) counts[r.state as QueueState] = r.n
      return counts
    },

    retry: (id) => change(id, DUE, 'retry', () => ({state: 'queued', nextAttemptAt: Date.now()})),
    hold: (id) => change(id, DUE, 'hold', () => ({state: 'held'})),
    release: (id) => change(id, ['held'], 'release', () => ({state: 'queued', nextAttemptAt: Date.now()})),
    failBegin: (id) => change(id, ['queued', 'deferred', 'held'], 'fail', () => ({state: 'held'})),
    failEnd: (id, fn) =>
      signalledTransaction(pool, async (client, signals) => {
        const {rows} = await client.query(`SELECT ${ENTRY_COLUMNS} FROM queue WHERE id = $1 FOR UPDATE`, [id])
        if (!rows[0]) throw deletedMeanwhile(id)
        const current = entryFromRow(rows[0])
        return rewrite(client, signals, current, fn(current))
      }),
    retryAll: () => allDueNow(['deferred', 'queued']),
    flush: (domain) => allDueNow(['deferred'], domain?.trim().toLowerCase()),
    delete: (id) =>
      transaction(pool, async (client) => {
        const entry = await findLocked(client, id)
        if (entry.state === 'sending') throw beingSent(entry.id)
        await client.query('DELETE FROM queue WHERE id = $1', [entry.id]) // its attempts go with it (cascade)
        if (!FINAL.includes(entry.state)) await releaseBlob(client, entry.blobId)
        return entry
      }),
    async purgeFinished(before, limit) {
      const {rowCount} = await pool.query(
        `DELETE FROM queue WHERE id IN (
           SELECT id FROM queue WHERE state IN ('delivered', 'failed') AND due_at < $1 ORDER BY due_at LIMIT $2)`,
        [before, limit],
      )
      return rowCount ?? 0
    },
  }
}
