/**
 * The login throttle across nodes: two auth actors on two pools of one PostgreSQL store (two
 * nodes) judge by the shared failure counts (src/store/pg/auth-failures.ts through
 * `store.auth.failures`). A guess on node A counts on node B; a success on B forgives that user's
 * failures from the source, as on one node; `stats()` on either node shows every node's failures.
 */
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {AuthActor, DEFAULT_AUTH, type AuthConfig} from '../../src/auth/actor.js'
import {hashPassword} from '../../src/auth/password.js'
import {Bus, type LoginRequest} from '../../src/bus.js'
import {silentLogger} from '../../src/log.js'
import {pgAuth} from '../../src/store/pg/auth.js'
import {PgChangeFeed} from '../../src/store/pg/changes.js'
import {pgDirectory} from '../../src/store/pg/directory.js'
import {codeOfAsync} from '../helpers/errors.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const SMALL: AuthConfig = {...DEFAULT_AUTH, windowMs: 60_000, maxFailuresPerAddress: 3, maxFailuresPerUserAddress: 5, maxFailuresPerUser: 100, failureDelayMs: 0, verifiedCacheMs: 0}

describe.skipIf(skipWithoutPostgres)('login throttling across nodes (PostgreSQL)', () => {
  const server = usePostgres()
  const pools = usePgPools(server)
  let hash: string
  beforeAll(async () => {
    hash = await hashPassword('alice-pw')
  })

  const running: AuthActor[] = []
  afterEach(async () => {
    for (const actor of running.splice(0)) await actor.stop()
  })

  /** two nodes on one new store with alice@example.com: each node's `auth.login` */
  async function twoNodes(config: AuthConfig = SMALL) {
    const [a, b] = await pools.nodes(2, {poolSize: 4})
    const nodeOf = async (pool: typeof a) => {
      const store = {directory: pgDirectory(pool!).directory, auth: pgAuth(pool!), changes: {on: () => () => {}}}
      const bus = new Bus()
      const actor = new AuthActor(bus, store, silentLogger, config)
      await actor.start()
      running.push(actor)
      const login = (password: string, remoteAddress: string, username = 'alice@example.com') =>
        bus.call('auth.login', {username, password, remoteAddress, protocol: 'imap', mechanism: 'password', tls: 'none'} satisfies LoginRequest)
      return {actor, login, store}
    }
    const A = await nodeOf(a)
    const B = await nodeOf(b)
    await A.store.directory.addDomain({record: {name: 'example.com', createdAt: Date.now()}, keys: []})
    await A.store.directory.addUser({address: 'alice@example.com', passwordHash: hash})
    await A.store.directory.addUser({address: 'bob@example.com', passwordHash: hash})
    return {A, B}
  }

  it('failures recorded through node A lock the source out on node B, even with the right password; other sources still get in', async () => {
    const {A, B} = await twoNodes()
    for (let i = 0; i < 3; i++) expect(await codeOfAsync(A.login(`guess-${i}`, '198.51.100.1'))).toBe('auth-failed')
    expect(await codeOfAsync(B.login('alice-pw', '198.51.100.1'))).toBe('throttled')
    expect(await codeOfAsync(B.login('alice-pw', '198.51.100.1', 'bob@example.com'))).toBe('throttled')
    expect(await B.login('alice-pw', '198.51.100.2')).toEqual({address: 'alice@example.com'})
    // status on either node counts every node's failures
    for (const node of [A, B]) {
      expect(await node.actor.status()).toMatchObject({failures: 3, addresses: 1, blockedAddresses: 1, slowedAddresses: 0, top: [{address: '198.51.100.1', failures: 3, blocked: true}]})
    }
  })

  it('a success on node B forgives the failures made through node A, as on one node; not those for other users', async () => {
    const {A, B} = await twoNodes()
    const ip = '198.51.100.9'
    expect(await codeOfAsync(A.login('x', ip))).toBe('auth-failed')
    expect(await codeOfAsync(A.login('x', ip))).toBe('auth-failed')
    expect(await B.login('alice-pw', ip)).toEqual({address: 'alice@example.com'})
    expect(await codeOfAsync(A.login('x', ip))).toBe('auth-failed')
    expect(await codeOfAsync(B.login('x', ip))).toBe('auth-failed')
    // 4 failures in the window, only 2 since the success: still in
    expect(await A.login('alice-pw', ip)).toEqual({address: 'alice@example.com'})
    // bob's failures from the same source are not alice's to forgive
    const other = '198.51.100.10'
    expect(await codeOfAsync(A.login('x', other, 'bob@example.com'))).toBe('auth-failed')
    expect(await codeOfAsync(A.login('x', other, 'bob@example.com'))).toBe('auth-failed')
    expect(await B.login('alice-pw', other)).toEqual({address: 'alice@example.com'})
    expect(await codeOfAsync(B.login('x', other))).toBe('auth-failed')
    expect(await codeOfAsync(A.login('alice-pw', other))).toBe('throttled')
  })

  it('parallel wrong passwords from one source on both nodes: no more than the limit get a password check', async () => {
    const {A, B} = await twoNodes()
    // each node admits at most what the shared count and its own attempts in flight allow;
    // together they may check a few more than the limit (each node sees the other's only once decided)
    const burst = await Promise.allSettled(Array.from({length: 10}, (_, i) => (i % 2 ? A : B).login(`wrong-${i}`, '198.51.100.8')))
    const codes = burst.map((r) => (r.status === 'rejected' ? (r.reason as {code: string}).code : 'ok'))
    expect(codes.filter((c) => c === 'auth-failed').length).toBeLessThanOrEqual(6)
    expect(codes.filter((c) => c === 'throttled').length).toBeGreaterThanOrEqual(4)
    expect(await codeOfAsync(A.login('alice-pw', '198.51.100.8'))).toBe('throttled')
  })

  it("node B forgets the credentials it verified when the directory changes on node A (the change feed's directory signal)", async () => {
    const {url, store: a} = await pools.fresh({poolSize: 2})
    const b = await pools.node(url, {poolSize: 2})
    const feed = new PgChangeFeed(url)
    try {
      const directoryA = pgDirectory(a.pool).directory
      await directoryA.addDomain({record: {name: 'example.com', createdAt: Date.now()}, keys: []})
      await directoryA.addUser({address: 'alice@example.com', passwordHash: hash})
      const bus = new Bus()
      const actor = new AuthActor(bus, {directory: pgDirectory(b.pool).directory, auth: pgAuth(b.pool), changes: feed}, silentLogger, {...SMALL, verifiedCacheMs: 60_000})
      await actor.start()
      running.push(actor)
      await feed.ready()
      await bus.call('auth.login', {username: 'alice@example.com', password: 'alice-pw', remoteAddress: '192.0.2.1', protocol: 'imap', mechanism: 'password', tls: 'none'})
      expect(actor.cachedCredentials).toBe(1)
      await directoryA.updateUser('alice@example.com', {quota: 1000})
      const until = Date.now() + 10_000
      while (actor.cachedCredentials > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
      expect(actor.cachedCredentials).toBe(0)
    } finally {
      await feed.close()
    }
  })
})
