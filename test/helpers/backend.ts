/**
 * The backend matrix (docs/store-interface.md, "The backend matrix"): the same end-to-end files
 * run on the LMDB store of each data dir (the default) and, with MAILBOX_TEST_BACKEND=postgres
 * (the `postgres` project of vitest.config.ts), on a PostgreSQL store per data dir. There, each
 * data dir a test uses gets a schema of its own, made on first use, on the one private server the
 * run's global setup started (./postgres-setup.ts); every `serve` and command of that data dir gets
 * its URL as $MAILBOX_STORE (the same as `--store`). The data dir itself still holds what is a
 * node's own: TLS files, the control socket, the pid lock.
 *
 * What a test reads or writes in a store goes through ./test-store.ts (openStoreBackend), so it
 * works on either. Only the choice is here: test/helpers/cli.ts imports it for every test file.
 */
import {randomBytes} from 'node:crypto'
import {resolve} from 'node:path'
import {inject} from 'vitest'

export type TestBackend = 'lmdb' | 'postgres'

function backendOfEnv(): TestBackend {
  const value = process.env.MAILBOX_TEST_BACKEND ?? 'lmdb'
  if (value !== 'lmdb' && value !== 'postgres') throw new Error(`MAILBOX_TEST_BACKEND must be lmdb or postgres, not ${value}`)
  return value
}

/** the store this run's end-to-end tests use */
export const TEST_BACKEND: TestBackend = backendOfEnv()
export const onPostgres = TEST_BACKEND === 'postgres'

/** each data dir's schema URL (by absolute path), made once */
const schemas = new Map<string, Promise<string>>()

/** The PostgreSQL store of a data dir on the matrix's server (made on first use); undefined on LMDB. */
export function storeUrlOf(dataDir: string): Promise<string | undefined> {
  if (!onPostgres) return Promise.resolve(undefined)
  const key = resolve(dataDir)
  let url = schemas.get(key)
  if (!url) {
    const server = inject('testPostgres')
    if (!server) throw new Error('MAILBOX_TEST_BACKEND=postgres needs the run\'s PostgreSQL server: run the postgres project of vitest.config.ts (test/helpers/postgres-setup.ts)')
    // a random name: the run's worker processes share the server; the helpers are loaded only
    // here, so an LMDB run does not load them
    url = import('./postgres.js').then(({createSchemaOn}) => createSchemaOn(server, `matrix_${randomBytes(6).toString('hex')}`))
    schemas.set(key, url)
  }
  return url
}

/** the environment that points `mailbox` at the data dir's store: {} on LMDB */
export async function storeEnv(dataDir: string): Promise<Record<string, string>> {
  const url = await storeUrlOf(dataDir)
  return url ? {MAILBOX_STORE: url} : {}
}
