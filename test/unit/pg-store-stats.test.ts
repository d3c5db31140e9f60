/** The stats contract (test/helpers/stats-contract.ts) on PostgreSQL: each test in a fresh schema. */
import {describe} from 'vitest'
import {openPgStore} from '../../src/store/pg/store.js'
import {statsContract} from '../helpers/stats-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('store stats on PostgreSQL', () => {
  const server = usePostgres()
  statsContract('PostgreSQL', async () => {
    const store = await openPgStore(await server().createSchema(), {pool: {poolSize: 2}})
    return {backend: store, close: () => store.close()}
  })
})
