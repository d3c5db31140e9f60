/**
 * The private PostgreSQL server the store tests run against (test/helpers/postgres.ts): it
 * listens on loopback only, keeps fsync and synchronous_commit on, and leaves nothing behind;
 * its binaries are found on PATH or in Debian's /usr/lib/postgresql/<major>/bin.
 */
import {chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import {afterAll, describe, expect, it} from 'vitest'
import {requireInCi} from '../helpers/ci.js'
import {findPostgresBin, POSTGRES_BIN, skipWithoutPostgres, startPostgres} from '../helpers/postgres.js'

describe('findPostgresBin', () => {
  const root = mkdtempSync(join(tmpdir(), 'mbx-pgbin-'))
  afterAll(() => rmSync(root, {recursive: true, force: true}))
  const fakeBin = (dir: string, programs = ['initdb', 'pg_ctl']) => {
    mkdirSync(dir, {recursive: true})
    for (const program of programs) {
      writeFileSync(join(dir, program), '#!/bin/sh\n')
      chmodSync(join(dir, program), 0o755)
    }
    return dir
  }

  it("takes Debian's newest major (numerically, not as text) when PATH has no initdb", () => {
    const debian = join(root, 'debian')
    fakeBin(join(debian, '9', 'bin'))
    const newest = fakeBin(join(debian, '16', 'bin'))
    fakeBin(join(debian, '17', 'bin'), ['initdb']) // incomplete: no pg_ctl
    mkdirSync(join(debian, 'common'))
    expect(findPostgresBin(join(root, 'empty-path'), debian)).toBe(newest)
  })

  it('prefers the initdb on PATH, and finds nothing when neither has one', () => {
    const onPath = fakeBin(join(root, 'path-bin'))
    expect(findPostgresBin(`${join(root, 'nothing')}:${onPath}`, join(root, 'debian'))).toBe(onPath)
    expect(findPostgresBin(join(root, 'nothing'), join(root, 'no-debian'))).toBeUndefined()
  })
})

describe.skipIf(skipWithoutPostgres)('a private PostgreSQL server', () => {
  it('starts on a loopback port with fsync and synchronous_commit on; stop() shuts it down and removes its files', async () => {
    requireInCi(POSTGRES_BIN !== undefined, 'PostgreSQL (initdb, pg_ctl) is needed')
    const started = performance.now()
    const server = await startPostgres()
    const startMs = performance.now() - started
    let dataDir: string
    try {
      const client = new pg.Client({connectionString: server.url})
      await client.connect()
      try {
        const show = async (name: string) => (await client.query(`SHOW ${name}`)).rows[0][name]
        expect(await show('fsync')).toBe('on')
        expect(await show('synchronous_commit')).toBe('on')
        expect(await show('listen_addresses')).toBe('127.0.0.1')
        dataDir = await show('data_directory')
        expect(existsSync(dataDir)).toBe(true)
      } finally {
        await client.end()
      }
      // a schema of its own per test, and a database where a schema will not do; random names,
      // as the files of a run share one server (test/helpers/postgres-setup.ts)
      for (const [url, current] of [
        [await server.createSchema(), 'current_schema()'],
        [await server.createDatabase(), 'current_database()'],
      ]) {
        const other = new pg.Client({connectionString: url})
        await other.connect()
        expect((await other.query(`SELECT ${current} AS name`)).rows[0].name).toMatch(/^test_[0-9a-f]{12}$/)
        await other.end()
      }
    } finally {
      const stopping = performance.now()
      await server.stop()
      console.log(`private PostgreSQL: started in ${startMs.toFixed(0)} ms, stopped in ${(performance.now() - stopping).toFixed(0)} ms`)
    }
    expect(existsSync(dataDir!)).toBe(false)
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(server.port, '127.0.0.1')
      socket.on('connect', () => (socket.destroy(), resolve(false)))
      socket.on('error', () => resolve(true))
    })
    expect(refused).toBe(true)
  })
})
