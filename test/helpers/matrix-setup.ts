/**
 * vitest global setup of the `postgres` project (vitest.config.ts): one private PostgreSQL server
 * for the whole run (test/helpers/postgres.ts), its URL provided to every test file
 * (`inject('matrixPostgres')`, read by ./backend.ts), stopped when the run ends. Without
 * PostgreSQL vitest.config.ts leaves the project out, except in CI, where starting fails the run.
 */
import type {TestProject} from 'vitest/node'
import {startPostgres} from './postgres.js'

/**
 * Connections: every `serve` opens a pool (storePool.size, 10 by default) and a change listener,
 * every command a small one; two workers run files with a few servers each.
 */
const MAX_CONNECTIONS = 300

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres({maxConnections: MAX_CONNECTIONS})
  project.provide('matrixPostgres', server.url)
  return () => server.stop()
}
