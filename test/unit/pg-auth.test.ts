/**
 * The auth records on PostgreSQL (src/store/pg/auth.ts): the same contract the LMDB backend passes
 * (test/helpers/auth-contract.ts), each test in a fresh schema of this file's private server;
 * then what only several nodes can show, with one pool per node on one database: a login
 * remembered on node A makes the network familiar on node B at once, and nodes recording new
 * networks for one user at the same time still leave at most `maxPerUser` of them.
 */
import {describe, expect, it} from 'vitest'
import {pgAuth} from '../../src/store/pg/auth.js'
import {pgDirectory} from '../../src/store/pg/directory.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {authContract, familiarOf, type OpenedAuthBackend} from '../helpers/auth-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const DAY = 24 * 3600_000
const policy = {maxAgeMs: 30 * DAY, maxPerUser: 3}

describe.skipIf(skipWithoutPostgres)('the auth records on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  authContract('PostgreSQL', async (): Promise<OpenedAuthBackend> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: {auth: pgAuth(store.pool), directory: pgDirectory(store.pool).directory},
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 2})
        return {auth: pgAuth(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })

  it('a login remembered on node A is familiar on node B at once, and forgotten there when A forgets it', async () => {
    const {url, store} = await pools.fresh({poolSize: 2})
    const a = pgAuth(store.pool)
    const b = pgAuth((await pools.node(url, {poolSize: 2})).pool)
    const now = Date.now()
    for (let i = 0; i < 10; i++) {
      await a.rememberLogin(`u${i}@example.com`, `198.51.100.${i}`, now, policy)
      // no wait, no cache: the very next lookup on the other node has it
      expect(await b.lastLoginFrom(`u${i}@example.com`, `198.51.100.${i}`, now, policy.maxAgeMs)).toBe(now)
    }
    await a.forgetLogins('u3@example.com')
    expect(await b.lastLoginFrom('u3@example.com', '198.51.100.3', now, policy.maxAgeMs)).toBeUndefined()
    expect(await b.lastLoginFrom('u4@example.com', '198.51.100.4', now, policy.maxAgeMs)).toBe(now)
  })

  it('three nodes recording new networks for one user at once leave exactly maxPerUser, the most recent', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const nodes = [pgAuth(store.pool), pgAuth((await pools.node(url, {poolSize: 4})).pool), pgAuth((await pools.node(url, {poolSize: 4})).pool)]
    const t = Date.now()
    // 12 networks, 4 per node, all at once; network n logged in at t + n
    const networks = Array.from({length: 12}, (_, n) => `203.0.113.${n}`)
    await Promise.all(networks.map((network, n) => nodes[n % 3]!.rememberLogin('amy@example.com', network, t + n, policy)))
    expect(await familiarOf(nodes[1]!, 'amy@example.com', networks, t + 100)).toEqual(networks.slice(-3))
  })
})
