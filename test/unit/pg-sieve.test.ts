/**
 * Sieve scripts on PostgreSQL (src/store/pg/sieve.ts): the contract the LMDB backend passes
 * (test/helpers/sieve-contract.ts), each test in a fresh schema; then what only several nodes
 * show: two nodes racing for the last script of the quota, and activating different scripts of
 * one user at once, leave the quota and "one active" true.
 */
import {describe, expect, it} from 'vitest'
import {isMailboxError} from '../../src/errors.js'
import type {PgChangeFeed} from '../../src/store/pg/changes.js'
import {openPgStore, type PgStore} from '../../src/store/pg/store.js'
import {addSieveUsers, sieveContract} from '../helpers/sieve-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('Sieve scripts on PostgreSQL', () => {
  const server = usePostgres()
  const openAt = (url: string): Promise<PgStore> => openPgStore(url, {pool: {poolSize: 4}})

  sieveContract('PostgreSQL', async () => {
    const url = await server().createSchema()
    const store = await openAt(url)
    await addSieveUsers(store)
    return {
      backend: store,
      reopen: async () => {
        const other = await openAt(url)
        return {sieve: other.sieve, close: () => other.close()}
      },
      changesReady: () => (store.changes as PgChangeFeed).ready(),
      close: () => store.close(),
    }
  })

  it('two nodes: 10 new scripts at once with room for 3 make 3; 10 activations at once leave exactly one active', async () => {
    const url = await server().createSchema()
    const nodes = [await openAt(url), await openAt(url)]
    try {
      await addSieveUsers(nodes[0]!)
      const quota = {maxScripts: 3, maxScriptBytes: 100}
      const puts = await Promise.allSettled(Array.from({length: 10}, (_, i) => nodes[i % 2]!.sieve.put('amy@x.test', `s${i}`, 'keep;', quota)))
      expect(puts.filter((p) => p.status === 'fulfilled')).toHaveLength(3)
      expect(puts.every((p) => p.status === 'fulfilled' || isMailboxError(p.reason, 'quota'))).toBe(true)
      const names = (await nodes[0]!.sieve.list('amy@x.test')).map((i) => i.name)
      expect(names).toHaveLength(3)
      await Promise.all(Array.from({length: 10}, (_, i) => nodes[i % 2]!.sieve.activate('amy@x.test', names[i % 3]!)))
      expect((await nodes[1]!.sieve.list('amy@x.test')).filter((i) => i.active)).toHaveLength(1)
    } finally {
      await Promise.all(nodes.map((n) => n.close()))
    }
  })
})
