/**
 * Shared login-failure counts (src/store/pg/auth-failures.ts) on a real private server, three
 * pools standing for three nodes: failures recorded through A count on B and C; concurrent
 * recording from all three loses no count; a key keeps only as many failures as its limit needs;
 * old failures fall out of the window; a success forgives the user's own failures from the
 * source and no one else's; the table is pruned back to its bound; schema 2 migrates rows that
 * schema 1 wrote.
 */
import {describe, expect, it} from 'vitest'
import {failureCounts, forgiveFailures, pairKey, pruneAuthFailures, recordFailure, topFailureSources, type FailureLimits} from '../../src/store/pg/auth-failures.js'
import {MIGRATIONS} from '../../src/store/pg/migrations.js'
import {migrate} from '../../src/store/pg/schema.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const LIMITS: FailureLimits = {windowMs: 15 * 60_000, maxFailuresPerAddress: 10, maxFailuresPerUserAddress: 5, maxFailuresPerUser: 30}

describe.skipIf(skipWithoutPostgres)('shared login-failure counts on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  const threeNodes = () => pools.nodes(3, {poolSize: 4})

  it('failures recorded through A count on B and C, per source, per (user, source) and per user from unfamiliar sources', async () => {
    const [a, b, c] = await threeNodes()
    await recordFailure(a, '192.0.2.1', 'alice@x.test', false, LIMITS)
    await recordFailure(a, '192.0.2.1', 'bob@x.test', false, LIMITS)
    await recordFailure(a, '192.0.2.1', 'alice@x.test', true, LIMITS)
    await recordFailure(a, '192.0.2.9', 'alice@x.test', false, LIMITS)
    for (const node of [b, c]) {
      expect(await failureCounts(node, '192.0.2.1', 'alice@x.test', LIMITS.windowMs)).toEqual({address: 3, userAddress: 2, user: 2})
      expect(await failureCounts(node, '192.0.2.1', 'bob@x.test', LIMITS.windowMs)).toEqual({address: 3, userAddress: 1, user: 1})
      expect(await failureCounts(node, '198.51.100.7', 'carol@x.test', LIMITS.windowMs)).toEqual({address: 0, userAddress: 0, user: 0})
    }
    expect(await topFailureSources(c, LIMITS.windowMs)).toEqual({
      sources: 2,
      top: [
        {source: '192.0.2.1', failures: 3},
        {source: '192.0.2.9', failures: 1},
      ],
    })
  })

  it('concurrent recording from three nodes loses no count', async () => {
    const [a, b, c] = await threeNodes()
    const limits = {...LIMITS, maxFailuresPerAddress: 1000, maxFailuresPerUserAddress: 1000, maxFailuresPerUser: 1000}
    const PER_NODE = 40
    // every node records for the same source and user, 8 at a time, all nodes at once
    await Promise.all(
      [a, b, c].map(async (pool) => {
        for (let i = 0; i < PER_NODE; i += 8) {
          await Promise.all(Array.from({length: 8}, () => recordFailure(pool, '203.0.113.5', 'alice@x.test', false, limits)))
        }
      }),
    )
    expect(await failureCounts(b, '203.0.113.5', 'alice@x.test', limits.windowMs)).toEqual({address: 120, userAddress: 120, user: 120})
  })

  it("a key keeps only as many failures as its scope's limit needs", async () => {
    const [a] = await threeNodes()
    for (let i = 0; i < 20; i++) await recordFailure(a, '192.0.2.1', `u${i % 2}@x.test`, false, LIMITS)
    expect(await failureCounts(a, '192.0.2.1', 'u0@x.test', LIMITS.windowMs)).toEqual({address: 10, userAddress: 5, user: 10})
    const {rows} = await a.query('SELECT scope, cardinality(failures) AS n, cardinality(users) AS users FROM auth_failures ORDER BY scope, key')
    expect(rows).toEqual([
      {scope: 'address', n: 10, users: 10},
      {scope: 'user', n: 10, users: null},
      {scope: 'user', n: 10, users: null},
      {scope: 'user-address', n: 5, users: null},
      {scope: 'user-address', n: 5, users: null},
    ])
  })

  it('old failures fall out of the window, and are cut from the key when it fails again', async () => {
    const [a, b] = await threeNodes()
    const limits = {...LIMITS, windowMs: 800}
    await recordFailure(a, '192.0.2.1', 'alice@x.test', false, limits)
    await recordFailure(a, '192.0.2.1', 'alice@x.test', false, limits)
    expect((await failureCounts(b, '192.0.2.1', 'alice@x.test', limits.windowMs)).address).toBe(2)
    await sleep(1500)
    expect(await failureCounts(b, '192.0.2.1', 'alice@x.test', limits.windowMs)).toEqual({address: 0, userAddress: 0, user: 0})
    await recordFailure(b, '192.0.2.1', 'alice@x.test', false, limits)
    expect((await failureCounts(a, '192.0.2.1', 'alice@x.test', limits.windowMs)).address).toBe(1)
    const {rows} = await a.query("SELECT cardinality(failures) AS n FROM auth_failures WHERE scope = 'address'")
    expect(rows[0].n).toBe(1)
  })

  it("a success forgives the user's own failures from that source, and nobody else's", async () => {
    const [a, b, c] = await threeNodes()
    for (const user of ['alice@x.test', 'bob@x.test', 'alice@x.test']) await recordFailure(a, '192.0.2.1', user, false, LIMITS)
    await recordFailure(b, '192.0.2.2', 'alice@x.test', false, LIMITS)
    await forgiveFailures(c, '192.0.2.1', 'alice@x.test')
    // bob's failure from there still counts against the source; alice's user count (unfamiliar sources) stays, as in LoginThrottle
    expect(await failureCounts(a, '192.0.2.1', 'alice@x.test', LIMITS.windowMs)).toEqual({address: 1, userAddress: 0, user: 3})
    expect(await failureCounts(a, '192.0.2.1', 'bob@x.test', LIMITS.windowMs)).toEqual({address: 1, userAddress: 1, user: 1})
    expect((await failureCounts(a, '192.0.2.2', 'alice@x.test', LIMITS.windowMs)).userAddress).toBe(1)
    // forgiving the last user of a source removes its row
    await forgiveFailures(c, '192.0.2.1', 'bob@x.test')
    const {rows} = await a.query("SELECT key FROM auth_failures WHERE scope <> 'user' ORDER BY key")
    expect(rows.map((r) => r.key)).toEqual(['192.0.2.2', pairKey('192.0.2.2', 'alice@x.test')])
  })

  it('a table that grew past its bound is pruned to it, the least recently failed keys first; expired keys go', async () => {
    const [a, b] = await threeNodes()
    for (let i = 0; i < 40; i++) await recordFailure(a, `10.0.0.${i}`, 'alice@x.test', true, LIMITS)
    await sleep(20)
    await recordFailure(a, '10.9.9.9', 'alice@x.test', true, LIMITS)
    expect((await a.query('SELECT count(*)::int AS n FROM auth_failures')).rows[0].n).toBe(82)
    expect(await pruneAuthFailures(b, LIMITS.windowMs, 10)).toBe(72)
    const {rows} = await a.query('SELECT key FROM auth_failures')
    expect(rows.length).toBe(10)
    expect(rows.map((r) => r.key)).toContain('10.9.9.9')
    await sleep(300)
    expect(await pruneAuthFailures(b, 200)).toBe(10)
  })

  it('schema 2 gives failures written under schema 1 an unknown user, which no success forgives', async () => {
    const old = pools.open(await server().createSchema()).pool
    await migrate(old, 'test', MIGRATIONS.slice(0, 1))
    await old.query("INSERT INTO auth_failures (scope, key, failures, last_failure) VALUES ('address', '192.0.2.1', ARRAY[1, 2]::bigint[], 2)")
    expect(await migrate(old, 'test', MIGRATIONS.slice(0, 2))).toEqual({from: 1, to: 2})
    const {rows} = await old.query('SELECT users FROM auth_failures')
    expect(rows[0].users).toEqual(['', ''])
  })
})
