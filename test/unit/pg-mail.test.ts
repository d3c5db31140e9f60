/**
 * The mail store on PostgreSQL (src/store/pg/mail.ts): the contract every backend passes
 * (test/helpers/mail-contract.ts), each test in a fresh schema of this file's private server; then
 * what only several nodes can show, with one pool per node on one database.
 */
import type pg from 'pg'
import {describe} from 'vitest'
import {pgDirectory} from '../../src/store/pg/directory.js'
import {pgMail} from '../../src/store/pg/mail.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {mailContract, type MailBackend, type OpenedMail} from '../helpers/mail-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

/** a node's directory and mail over its pool */
export function pgMailBackend(pool: pg.Pool): MailBackend {
  const directory = pgDirectory(pool)
  return {directory: directory.directory, mail: pgMail(pool, directory)}
}

describe.skipIf(skipWithoutPostgres)('mail on PostgreSQL', () => {
  const server = usePostgres()

  mailContract('PostgreSQL', async (): Promise<OpenedMail> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: pgMailBackend(store.pool),
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 2})
        return {...pgMailBackend(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })
})
