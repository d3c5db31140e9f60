/**
 * A private PostgreSQL server for tests: `initdb` into a fresh temp dir, `pg_ctl start` on a free
 * port, listening on 127.0.0.1 only with a unix socket dir of its own; `stop()` shuts it down
 * (`pg_ctl stop -m fast`) and removes the dir. No test relies on a system-wide database. A run
 * starts one (./postgres-setup.ts) and its files share it (`usePostgres()`), each in schemas or
 * databases of its own.
 *
 * fsync and synchronous_commit stay on, as in production: durability is what the store tests
 * check. Only initdb's own final sync is skipped (`--no-sync`): a crash of the test machine
 * during initdb is no case worth a second of every test file.
 *
 * PostgreSQL refuses to run as root. Under root (as CI runs) initdb and pg_ctl run as the
 * `postgres` system user that Debian's package creates, which owns the temp dir.
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import {afterAll, beforeAll, inject} from 'vitest'
import {openPool, type PgPoolOptions, type PgStorePool} from '../../src/store/pg/connect.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {missingOutsideCi, requireInCi} from './ci.js'
import {findPostgresBin} from './postgres-bin.js'
import {freePort} from './ports.js'

/** every wait on a PostgreSQL program is bounded: initdb, start and stop each get this long */
const PROGRAM_TIMEOUT_MS = 60_000
/** a port taken by someone else between freePort() and the server's bind is retried this often */
const START_ATTEMPTS = 3
const SUPERUSER = 'mailbox'

export {findPostgresBin}

export const POSTGRES_BIN = findPostgresBin()

/** What tests do on a running server: make schemas and databases of their own on it. */
export interface PostgresServer {
  /** `postgres://mailbox@127.0.0.1:PORT/postgres` (trust authentication on loopback) */
  url: string
  port: number
  /**
   * A new, empty schema on this server: a URL whose sessions use only it (`search_path`) and
   * start with `settings` (`-c name=value` in the startup options). One per test keeps tests apart
   * in milliseconds, where a database of their own takes ~0.5 s to create with fsync on.
   */
  createSchema(settings?: Record<string, string>): Promise<string>
  /** a new, empty database on this server: its URL (for what a schema cannot show, e.g. who is connected to it) */
  createDatabase(): Promise<string>
}

export interface PrivatePostgres extends PostgresServer {
  stop(): Promise<void>
}

const asRoot = process.getuid?.() === 0

/** the server's files belong to whoever runs the programs: under root, Debian's `postgres` user */
function serverOwner(): {uid: number; gid: number} {
  if (!asRoot) return {uid: userInfo().uid, gid: userInfo().gid}
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error('running as root, PostgreSQL needs the postgres system user (Debian package postgresql) to run as')
  const [, , uid, gid] = line.split(':')
  return {uid: Number(uid), gid: Number(gid)}
}

function runProgram(bin: string, program: string, args: string[], cwd: string): Promise<void> {
  const file = join(bin, program)
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args]
  return new Promise((resolve, reject) => {
    execFile(command, argv, {cwd, timeout: PROGRAM_TIMEOUT_MS, env: {...process.env, LC_ALL: 'C', LANG: 'C'}}, (err, stdout, stderr) => {
      if (err) reject(new Error(`${program} ${args.join(' ')} failed: ${err.message}\n${stderr}${stdout}`))
      else resolve()
    })
  })
}

const readIf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '')

/** the postmaster's pid, from the first line of `postmaster.pid` (absent: not running) */
function postmasterPid(data: string): number | undefined {
  const pid = Number(readIf(join(data, 'postmaster.pid')).split('\n')[0])
  return pid > 0 ? pid : undefined
}

/** servers not stopped yet: an exiting test process takes them down (immediate shutdown) */
const running = new Set<string>()
process.on('exit', () => {
  for (const data of running) {
    const pid = postmasterPid(data)
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT')
      } catch {
        // already gone
      }
    }
  }
})

/** `maxConnections`: the server's max_connections (60 by default: a test file's pools) */
export async function startPostgres(options: {maxConnections?: number} = {}): Promise<PrivatePostgres> {
  const bin = POSTGRES_BIN
  if (!bin) throw new Error('PostgreSQL not found: no initdb on PATH nor in /usr/lib/postgresql/<major>/bin (Debian package postgresql)')
  const owner = serverOwner()
  const dir = mkdtempSync(join(tmpdir(), 'mbx-pg-'))
  const data = join(dir, 'data')
  const sockets = join(dir, 'sock')
  const log = join(dir, 'server.log')
  try {
    mkdirSync(sockets, {mode: 0o700})
    for (const path of [dir, sockets]) chownSync(path, owner.uid, owner.gid)
    await runProgram(bin, 'initdb', ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], dir)
    appendFileSync(
      data + '/postgresql.conf',
      [
        '',
        '# a private test server (test/helpers/postgres.ts)',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${sockets}'`,
        'fsync = on',
        'synchronous_commit = on',
        'shared_buffers = 16MB',
        `max_connections = ${options.maxConnections ?? 60}`,
        // commit times, so a test can check what was committed in which order
        'track_commit_timestamp = on',
        '',
      ].join('\n'),
    )
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      try {
        running.add(data)
        await runProgram(bin, 'pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', String(PROGRAM_TIMEOUT_MS / 1000), '-o', `-p ${port}`], dir)
      } catch (err) {
        running.delete(data)
        const taken = /could not bind|address already in use/i.test(readIf(log))
        if (taken && attempt < START_ATTEMPTS) continue
        throw new Error(`${(err as Error).message}\nserver log:\n${readIf(log)}`)
      }
      return served(bin, dir, data, port)
    }
  } catch (err) {
    rmSync(dir, {recursive: true, force: true})
    throw err
  }
}

/** runs one statement on the server of `url`, on a connection of its own */
async function runSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({connectionString: url})
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/**
 * Creates the schema `name` on the server of `url` (a superuser's URL without options) and
 * returns a URL whose sessions use only it (`search_path`) and start with `settings`.
 */
export async function createSchemaOn(url: string, name: string, settings: Record<string, string> = {}): Promise<string> {
  await runSql(url, `CREATE SCHEMA ${name}`)
  const options = Object.entries({search_path: name, ...settings}).map(([key, value]) => `-c ${key}=${value}`)
  return `${url}?options=${encodeURIComponent(options.join(' '))}`
}

/**
 * Schemas and databases on the server of `url` (a superuser's URL without options), under random
 * names: the files of a run share one server (./postgres-setup.ts) from two worker processes.
 */
export function postgresServer(url: string): PostgresServer {
  const name = () => `test_${randomBytes(6).toString('hex')}`
  return {
    url,
    port: Number(new URL(url).port),
    createSchema: (settings = {}) => createSchemaOn(url, name(), settings),
    async createDatabase() {
      const database = name()
      await runSql(url, `CREATE DATABASE ${database}`)
      const of = new URL(url)
      of.pathname = `/${database}`
      return of.href
    },
  }
}

function served(bin: string, dir: string, data: string, port: number): PrivatePostgres {
  let stopping: Promise<void> | undefined
  return {
    ...postgresServer(`postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`),
    stop() {
      stopping ??= (async () => {
        try {
          await runProgram(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', String(PROGRAM_TIMEOUT_MS / 1000)], dir)
        } catch (err) {
          // a server that would not stop in time goes down hard, so no process outlives the test
          const pid = postmasterPid(data)
          if (pid) process.kill(pid, 'SIGQUIT')
          throw err
        } finally {
          running.delete(data)
          rmSync(dir, {recursive: true, force: true})
        }
      })()
      return stopping
    },
  }
}

/**
 * For `describe.skipIf(…)` around a suite that needs PostgreSQL: skips it only outside CI when
 * the programs are missing; in CI the suite runs and `usePostgres()` fails it (`requireInCi`).
 */
export const skipWithoutPostgres = missingOutsideCi(POSTGRES_BIN !== undefined)

/**
 * For a test file: the run's private server (./postgres-setup.ts, started once for all files),
 * on which the file makes schemas and databases of its own. Outside CI a missing PostgreSQL skips
 * the file (pair it with `describe.skipIf(skipWithoutPostgres)`); in CI it fails the file.
 */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined
  beforeAll(() => {
    requireInCi(POSTGRES_BIN !== undefined, 'PostgreSQL (initdb, pg_ctl) is needed')
    const url = inject('testPostgres')
    if (!url) throw new Error('the run has no PostgreSQL server: vitest.config.ts must list test/helpers/postgres-setup.ts as the global setup')
    server = postgresServer(url)
  })
  return () => {
    if (!server) throw new Error('the private PostgreSQL server is not running')
    return server
  }
}

/**
 * For a test file using `usePostgres()`: `fresh()` is a new schema on the run's server, opened as
 * a migrated store pool (`openPgDatabase`); every pool opened through `open()` or `fresh()` is
 * closed after the file's tests.
 */
export function usePgPools(server: () => PostgresServer) {
  const pools: PgStorePool[] = []
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()))
  })
  const track = (pool: PgStorePool) => (pools.push(pool), pool)
  return {
    /** a pool on `url` without the schema step */
    open: (url: string, options?: PgPoolOptions) => track(openPool(url, options)),
    /** a migrated store in a new schema, and its URL */
    fresh: async (options?: PgPoolOptions) => {
      const url = await server().createSchema()
      return {url, store: track(await openPgDatabase(url, options))}
    },
    /** a further migrated pool on the same store: another node */
    node: async (url: string, options?: PgPoolOptions) => track(await openPgDatabase(url, options)),
    /** `count` pools on one new migrated store, as that many nodes */
    nodes: async (count: number, options?: PgPoolOptions): Promise<pg.Pool[]> => {
      const url = await server().createSchema()
      const opened: pg.Pool[] = []
      for (let i = 0; i < count; i++) opened.push(track(await openPgDatabase(url, options)).pool)
      return opened
    },
  }
}
