/**
 * `mailbox verify` on PostgreSQL: the contract (test/helpers/verify-contract.ts) on a fresh schema
 * of the run's server, damaged by SQL (test/helpers/verify-damage.ts; what the foreign keys forbid,
 * such as a blob's bytes gone under its info record, with their triggers off).
 */
import {describe} from 'vitest'
import {openPgStore} from '../../src/store/pg/store.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {verifyContract} from '../helpers/verify-contract.js'
import {pgDamage} from '../helpers/verify-damage.js'

describe.skipIf(skipWithoutPostgres)('verify on PostgreSQL', () => {
  const server = usePostgres()

  verifyContract('PostgreSQL', async () => {
    const store = await openPgStore(await server().createSchema(), {pool: {poolSize: 4}})
    return {store, damage: pgDamage(store.pool), close: () => store.close()}
  })
})
