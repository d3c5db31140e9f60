/**
 * Greylisting on PostgreSQL (src/store/pg/greylist.ts): the contract the LMDB backend passes
 * (test/helpers/greylist-contract.ts), each test in a fresh schema; then what only several nodes
 * show: one new triplet seen by three nodes at once is one entry counted once in the size row,
 * and the cap holds across nodes.
 */
import {describe, expect, it} from 'vitest'
import {pgGreylist} from '../../src/store/pg/greylist.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {greylistContract, POLICY, type OpenedGreylist} from '../helpers/greylist-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('greylisting on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  greylistContract('PostgreSQL', async (): Promise<OpenedGreylist> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: {greylist: pgGreylist(store.pool)},
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 4})
        return {greylist: pgGreylist(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })

  it('three nodes, 60 sightings of 20 new triplets at once, cap 15: 15 entries, the size row says 15, the rest passed unrecorded', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const others = [await pools.node(url, {poolSize: 4}), await pools.node(url, {poolSize: 4})]
    const nodes = [store, ...others].map((s) => pgGreylist(s.pool))
    const policy = {...POLICY, maxEntries: 15}
    const now = 1_800_000_000_000
    const verdicts = await Promise.all(
      Array.from({length: 60}, (_, i) => nodes[i % 3]!.check({network: '192.0.2.0/24', sender: `s${i % 20}@sender.test`, recipient: 'bob@x.test'}, now, policy)),
    )
    const {rows} = await store.pool.query('SELECT (SELECT entries FROM greylist_size) AS size, (SELECT count(*)::int FROM greylist) AS n')
    expect(rows[0]).toEqual({size: 15, n: 15})
    expect(verdicts.filter((v) => v.action === 'wait' && v.first)).toHaveLength(15)
    expect(verdicts.filter((v) => v.action === 'pass')).toEqual(verdicts.filter((v) => v.action === 'pass').map(() => ({action: 'pass', reason: 'full'})))
  })
})
