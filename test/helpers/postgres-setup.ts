/**
 * vitest global setup of every project (vitest.config.ts): ONE private PostgreSQL server for the
 * whole run (test/helpers/postgres.ts), its URL provided to every test file as
 * `inject('testPostgres')`, stopped when the run ends. Every file that needs PostgreSQL takes
 * schemas (or databases) of its own on it, under random names: the `postgres` project's data dirs
 * (./backend.ts) and the files of the `unit` and `lmdb` projects that test the PostgreSQL store
 * (`usePostgres()`). One server instead of one per file saves initdb and a start and stop per file.
 *
 * Every project lists this file; vitest runs a project's global setup in a module graph of its
 * own, so the one server is kept on globalThis, started by the first project's setup and stopped
 * by the last teardown. Without the programs (a developer's machine) nothing starts and the files
 * that need PostgreSQL skip, except in CI, where starting fails the run.
 */
import type {TestProject} from 'vitest/node'
import {findPostgresBin} from './postgres-bin.js'
import {startPostgres, type PrivatePostgres} from './postgres.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** the run's private PostgreSQL server (a superuser's URL), set here; undefined without PostgreSQL */
    testPostgres: string | undefined
  }
}

/**
 * Connections: every `serve` opens a pool (storePool.size, 10 by default) and a change listener,
 * every command a small one; two workers run files with a few servers or pools each.
 */
const MAX_CONNECTIONS = 300

const shared = globalThis as typeof globalThis & {mailboxTestPostgres?: {server: Promise<PrivatePostgres>; users: number}}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (findPostgresBin() === undefined && process.env.CI !== 'true') {
    project.provide('testPostgres', undefined)
    return undefined
  }
  const run = (shared.mailboxTestPostgres ??= {server: startPostgres({maxConnections: MAX_CONNECTIONS}), users: 0})
  run.users++
  project.provide('testPostgres', (await run.server).url)
  return async () => {
    if (--run.users > 0) return
    delete shared.mailboxTestPostgres
    await (await run.server).stop()
  }
}
