/**
 * The learning jobs on PostgreSQL (src/store/pg/learn.ts): the contract the LMDB backend passes
 * (test/helpers/learn-contract.ts), each test in a fresh schema; then what only several nodes
 * show: two nodes claiming at once never take the same job.
 */
import {describe, expect, it} from 'vitest'
import {pgLearn} from '../../src/store/pg/learn.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {learnContract, type OpenedLearnBackend} from '../helpers/learn-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('the learning jobs on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  learnContract('PostgreSQL', async (): Promise<OpenedLearnBackend> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: {learn: pgLearn(store.pool)},
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 2})
        return {learn: pgLearn(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })

  it('two nodes claiming at once take each job once, and enqueuing at once keeps the bound', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const a = pgLearn(store.pool)
    const b = pgLearn((await pools.node(url, {poolSize: 4})).pool)
    const now = Date.now()
    const batches = Array.from({length: 8}, (_, i) => Array.from({length: 10}, (_, j) => ({user: 'u@example.com', blobId: `b${i}-${j}`, kind: 'spam' as const})))
    const added = await Promise.all(batches.map((jobs, i) => (i % 2 ? a : b).enqueue(jobs, now, 50)))
    expect(added.flat()).toHaveLength(50)
    const claims = await Promise.all([a.claim(now, 30, 60_000), b.claim(now, 30, 60_000), a.claim(now, 30, 60_000)])
    const ids = claims.flat().map((j) => j.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).toHaveLength(50)
  })
})
