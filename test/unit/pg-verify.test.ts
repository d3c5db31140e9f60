/**
 * `mailbox verify` on PostgreSQL: the contract (test/helpers/verify-contract.ts) on a fresh schema
 * of the run's server, damaged by SQL. Writes the schema forbids (a blob's bytes gone under its
 * info record, a delivery log row of no entry) are made with the foreign keys' triggers off
 * (`session_replication_role = replica`), as a restore of a partial dump or a bad disk could leave them.
 */
import {describe} from 'vitest'
import {openPgStore} from '../../src/store/pg/store.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {verifyContract} from '../helpers/verify-contract.js'

describe.skipIf(skipWithoutPostgres)('verify on PostgreSQL', () => {
  const server = usePostgres()

  verifyContract('PostgreSQL', async () => {
    const url = await server().createSchema()
    const store = await openPgStore(url, {pool: {poolSize: 4}})
    const sql = (text: string, params: unknown[] = []) => store.pool.query(text, params).then(() => undefined)
    /** past the foreign keys: one session with their triggers off */
    const forced = async (text: string, params: unknown[]) => {
      const client = await store.pool.connect()
      try {
        await client.query('SET session_replication_role = replica')
        await client.query(text, params)
      } finally {
        await client.query('RESET session_replication_role')
        client.release()
      }
    }
    const columns: Record<string, string> = {messages: 'messages', unseen: 'unseen', size: 'size', uidNext: 'uid_next', highestModseq: 'highest_modseq', subscribed: 'subscribed'}
    return {
      store,
      close: () => store.close(),
      damage: {
        removeBytes: (id) => forced('DELETE FROM blobs WHERE id = $1', [id]),
        removeBlob: (id) => forced('WITH i AS (DELETE FROM blob_info WHERE blob_id = $1) DELETE FROM blobs WHERE id = $1', [id]),
        setRefs: (id, refs) => sql('UPDATE blob_info SET refs = $2 WHERE blob_id = $1', [id, refs]),
        setFolder: (f, patch) => {
          const set = Object.keys(patch).map((k, i) => `${columns[k]} = $${i + 2}`)
          return sql(`UPDATE folders SET ${set.join(', ')} WHERE id = $1`, [f.id, ...Object.values(patch)])
        },
        putBlob: (id, refs) => sql("WITH b AS (INSERT INTO blobs (id, bytes) VALUES ($1, 'orphan')) INSERT INTO blob_info (blob_id, refs, size, created_at) VALUES ($1, $2, 6, 0)", [id, refs]),
        putBytes: (id) => sql("INSERT INTO blobs (id, bytes) VALUES ($1, 'bytes')", [id]),
        putAttempt: (queueId, attempt) =>
          forced("INSERT INTO delivery_log (queue_id, attempt, started_at, ended_at, host, result, transcript) VALUES ($1, $2, 0, 0, 'mx.example.net', 'deferred', '[]')", [queueId, attempt]),
      },
    }
  })
})
