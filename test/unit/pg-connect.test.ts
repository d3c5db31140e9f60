/**
 * The PostgreSQL store's connection (src/store/pg/connect.ts) against a real private server:
 * URLs are checked before any connection, a transaction commits or rolls back whole, a real
 * serialization failure is retried, a statement over its timeout is cancelled, and every session
 * of ours commits durably (synchronous_commit on) even on a database whose default is off.
 */
import pg from 'pg'
import {describe, expect, it} from 'vitest'
import {isMailboxError} from '../../src/errors.js'
import {describeStoreUrl, durabilityOf, openPool, transaction} from '../../src/store/pg/connect.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

describe('store URLs', () => {
  it.each([
    ['not a url', /not a URL/],
    ['mysql://db.example/mail', /must start with postgres:\/\//],
    ['postgres:///mail', /names no host/],
    ['postgres://db.example', /names no database/],
    ['postgres://db.example/', /names no database/],
    ['postgres://db.example/a/b', /names no database/],
  ])('refuses %s with a clear error, before connecting', (url, why) => {
    let thrown: unknown
    try {
      openPool(url)
    } catch (err) {
      thrown = err
    }
    expect(isMailboxError(thrown, 'invalid')).toBe(true)
    expect((thrown as Error).message).toMatch(why)
  })

  it('shows a URL without its password or query; a unix-socket URL (host in the query) is valid', () => {
    expect(describeStoreUrl('postgres://mail:s3cret@db.example:5433/mailbox?sslmode=require')).toBe('postgres://mail@db.example:5433/mailbox')
    expect(describeStoreUrl('postgresql:///mailbox?host=/run/postgresql&user=mail')).toBe('postgresql:///mailbox')
  })

  it('refuses a pool size below 1', () => {
    expect(() => openPool('postgres://db.example/mail', {poolSize: 0})).toThrow(/pool size/)
  })
})

describe.skipIf(skipWithoutPostgres)('transactions on a real PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  async function counterTable() {
    const url = await server().createSchema()
    const {pool} = pools.open(url, {poolSize: 3})
    await pool.query('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)')
    return pool
  }
  const count = async (pool: pg.Pool) => (await pool.query('SELECT n FROM counter WHERE id = 1')).rows[0].n

  it('commits what fn wrote and returns its result; an error rolls all of it back', async () => {
    const pool = await counterTable()
    expect(await transaction(pool, async (c) => (await c.query('UPDATE counter SET n = n + 1 RETURNING n')).rows[0].n)).toBe(1)
    await expect(
      transaction(pool, async (c) => {
        await c.query('UPDATE counter SET n = n + 100')
        throw new Error('refused half-way')
      }),
    ).rejects.toThrow('refused half-way')
    expect(await count(pool)).toBe(1)
    // the connection went back to the pool usable, not stuck in the aborted transaction
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1)
  })

  it('runs fn again after a real serialization failure (40001), and gives up after `attempts`', async () => {
    const pool = await counterTable()
    let runs = 0
    const conflicting = (limit: number) =>
      transaction(
        pool,
        async (c) => {
          runs++
          const n = (await c.query('SELECT n FROM counter WHERE id = 1')).rows[0].n
          // another node changes the row after this transaction's snapshot was taken
          if (runs <= limit) await pool.query('UPDATE counter SET n = n + 10 WHERE id = 1')
          await c.query('UPDATE counter SET n = $1 WHERE id = 1', [n + 1])
        },
        {isolation: 'repeatable read', attempts: 3},
      )
    await conflicting(1)
    expect(runs).toBe(2)
    expect(await count(pool)).toBe(11) // the retry saw the other node's change
    runs = 0
    await expect(conflicting(99)).rejects.toMatchObject({code: '40001'})
    expect(runs).toBe(3)
  })

  it('cancels a statement that runs past statementTimeoutMs', async () => {
    const url = await server().createSchema()
    const {pool} = pools.open(url, {statementTimeoutMs: 200})
    const started = Date.now()
    await expect(pool.query('SELECT pg_sleep(5)')).rejects.toMatchObject({code: '57014'})
    expect(Date.now() - started).toBeLessThan(4000)
  })

  it('commits only after the WAL flush: synchronous_commit is on for our sessions, even where the session default is off', async () => {
    const url = await server().createSchema({synchronous_commit: 'off'})
    // a plain client gets the default it was given…
    const plain = new pg.Client({connectionString: url})
    await plain.connect()
    expect((await plain.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('off')
    await plain.end()
    // …the store's pool turns it on in each of its sessions before they serve anything
    const {pool} = pools.open(url, {poolSize: 2})
    const [a, b] = [await pool.connect(), await pool.connect()]
    try {
      for (const client of [a, b]) expect((await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on')
    } finally {
      a.release()
      b.release()
    }
    expect(await durabilityOf(pool)).toEqual({synchronousCommit: 'on', fsync: 'on'})
  })
})
