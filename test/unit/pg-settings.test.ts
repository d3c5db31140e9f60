/**
 * `store.settings` on PostgreSQL (src/store/pg/settings.ts): the contract the LMDB backend passes
 * (test/helpers/settings-contract.ts), each test in a fresh schema, and three nodes making the
 * same secret at once.
 */
import {describe, expect, it} from 'vitest'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {pgSettings} from '../../src/store/pg/settings.js'
import {settingsContract, type OpenedSettings} from '../helpers/settings-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('settings on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  settingsContract('PostgreSQL', async (): Promise<OpenedSettings> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: {settings: pgSettings(store.pool)},
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 4})
        return {settings: pgSettings(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })

  it('three nodes making the srs secret at once: one row, every node has its bytes', async () => {
    const pgPools = await pools.nodes(3, {poolSize: 4})
    const got = await Promise.all(pgPools.flatMap((pool) => [pgSettings(pool).secret('srs'), pgSettings(pool).secret('srs')]))
    for (const g of got) expect(g.equals(got[0]!)).toBe(true)
    const {rows} = await pgPools[0]!.query("SELECT count(*)::int AS n, min(length(value)) AS len FROM settings WHERE name = 'secret/srs'")
    expect(rows[0]).toEqual({n: 1, len: 32})
  })
})
