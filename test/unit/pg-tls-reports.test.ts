/**
 * `store.tlsReports` on PostgreSQL (src/store/pg/tls-reports.ts): the contract the LMDB backend
 * passes (test/helpers/tls-report-contract.ts), each test in a fresh schema, and three nodes
 * flushing counts for the same days at once.
 */
import {describe, expect, it} from 'vitest'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {pgTlsReports} from '../../src/store/pg/tls-reports.js'
import {tlsReportContract, type OpenedTlsReports} from '../helpers/tls-report-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('TLS report counts on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  tlsReportContract('PostgreSQL', async (): Promise<OpenedTlsReports> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: {tlsReports: pgTlsReports(store.pool)},
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 4})
        return {tlsReports: pgTlsReports(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })

  it('three nodes adding to the same days at once: every session counted once', async () => {
    const nodes = (await pools.nodes(3, {poolSize: 4})).map((pool) => pgTlsReports(pool))
    const policies = [{policy: {type: 'no-policy-found' as const}, successes: 1, failures: 0, details: []}]
    // the same two days in opposite orders: key-ordered locks, no deadlock
    await Promise.all(
      nodes.flatMap((n, i) =>
        Array.from({length: 5}, () =>
          n.add(
            (i % 2 ? ['b.example', 'a.example'] : ['a.example', 'b.example']).map((policyDomain) => ({day: '2026-12-01', policyDomain, policies})),
            {maxDetails: 10, maxPolicies: 2},
          ),
        ),
      ),
    )
    for (const domain of ['a.example', 'b.example']) expect((await nodes[0]!.get('2026-12-01', domain))!.policies[0]!.successes).toBe(15)
  })
})
