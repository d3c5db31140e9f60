/**
 * `store.mtaSts` on PostgreSQL (src/store/pg/mta-sts.ts): the contract the LMDB backend passes
 * (test/helpers/mta-sts-contract.ts), each test in a fresh schema.
 */
import {describe} from 'vitest'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {pgMtaSts} from '../../src/store/pg/mta-sts.js'
import {mtaStsContract, type OpenedMtaSts} from '../helpers/mta-sts-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('MTA-STS policies on PostgreSQL', () => {
  const server = usePostgres()

  mtaStsContract('PostgreSQL', async (): Promise<OpenedMtaSts> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 2})
    return {
      backend: {mtaSts: pgMtaSts(store.pool)},
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 2})
        return {mtaSts: pgMtaSts(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })
})
