/**
 * `store.learn` (../backend.ts) on PostgreSQL: learning jobs in `learn_jobs`, shared by the
 * nodes. A claim moves the due time of the rows it takes (`FOR UPDATE SKIP LOCKED`, so two nodes'
 * workers never take the same job at once); a node that dies leaves its claimed jobs to come
 * due again when the lease runs out. The bound on the queue is checked under an advisory lock,
 * so nodes enqueuing at once cannot together pass it.
 */
import type pg from 'pg'
import {newId} from '../../ids.js'
import type {LearnJob, LearnStore} from '../backend.js'
import {transaction} from './connect.js'

/** the advisory lock serializing enqueues (the bound): "lern" in ASCII */
const ENQUEUE_LOCK = 1818587758

interface LearnRow {
  id: string
  user_address: string
  blob_id: string
  kind: 'spam' | 'ham'
  created_at: number
  attempts: number
  due_at: number
  last_error: string | null
}

const jobFromRow = (row: LearnRow): LearnJob => ({
  id: row.id,
  user: row.user_address,
  blobId: row.blob_id,
  kind: row.kind,
  createdAt: Number(row.created_at),
  attempts: Number(row.attempts),
  dueAt: Number(row.due_at),
  ...(row.last_error !== null ? {lastError: row.last_error} : {}),
})

export function pgLearn(pool: pg.Pool): LearnStore {
  return {
    enqueue: (jobs, now, maxQueued) =>
      transaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [ENQUEUE_LOCK])
        const {rows} = await client.query<{n: string}>('SELECT count(*) AS n FROM learn_jobs')
        const room = Math.max(0, maxQueued - Number(rows[0]!.n))
        const added = jobs.slice(0, room).map((job): LearnJob => ({...job, id: newId(), createdAt: now, attempts: 0, dueAt: now}))
        // one statement for a whole move (thousands of messages at once are one IMAP command)
        if (added.length) {
          await client.query(
            `INSERT INTO learn_jobs (id, user_address, blob_id, kind, created_at, attempts, due_at)
             SELECT id, user_address, blob_id, kind, $5, 0, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS j(id, user_address, blob_id, kind)`,
            [added.map((j) => j.id), added.map((j) => j.user), added.map((j) => j.blobId), added.map((j) => j.kind), now],
          )
        }
        return added
      }),

    claim: async (now, limit, leaseMs) => {
      const {rows} = await pool.query<LearnRow>(
        `WITH taken AS (
           SELECT id, due_at FROM learn_jobs WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
         )
         UPDATE learn_jobs j SET due_at = $3 FROM taken WHERE j.id = taken.id
         RETURNING j.id, j.user_address, j.blob_id, j.kind, j.created_at, j.attempts, taken.due_at, j.last_error`,
        [now, limit, now + leaseMs],
      )
      return rows.map(jobFromRow).sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1))
    },

    retry: async (id, dueAt, lastError) => {
      const {rowCount} = await pool.query('UPDATE learn_jobs SET attempts = attempts + 1, due_at = $2, last_error = $3 WHERE id = $1', [id, dueAt, lastError])
      return rowCount === 1
    },

    remove: async (id) => {
      const {rowCount} = await pool.query('DELETE FROM learn_jobs WHERE id = $1', [id])
      return rowCount === 1
    },

    jobs: async () => (await pool.query<LearnRow>('SELECT * FROM learn_jobs ORDER BY due_at, id')).rows.map(jobFromRow),
    count: async () => Number((await pool.query<{n: string}>('SELECT count(*) AS n FROM learn_jobs')).rows[0]!.n),
    nextDue: async () => {
      const {rows} = await pool.query<{due_at: number}>('SELECT due_at FROM learn_jobs ORDER BY due_at LIMIT 1')
      return rows[0] ? Number(rows[0].due_at) : undefined
    },
  }
}
