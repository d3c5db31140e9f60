/**
 * The directory on PostgreSQL (src/store/pg/directory.ts): the same contract the LMDB backend
 * passes (test/helpers/directory-contract.ts), each test in a fresh schema of this file's private
 * server; then what only several nodes can show, with one pool per node on one database: a write
 * acknowledged on one node is read at once on the others (their snapshots are stale and must
 * notice), and the same address added from three nodes at once is taken by exactly one.
 */
import {describe, expect, it} from 'vitest'
import {isMailboxError} from '../../src/errors.js'
import type {NewDomain} from '../../src/store/backend.js'
import {ChangeListener, type StoreChange} from '../../src/store/pg/changes.js'
import {pgDirectory} from '../../src/store/pg/directory.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {directoryContract, type OpenedBackend} from '../helpers/directory-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo'
const domain = (name: string): NewDomain => ({
  record: {name, createdAt: Date.now()},
  keys: [{domain: name, selector: 'a-ed25519', algorithm: 'ed25519', privateKey: 'private', publicKey: 'public', state: 'active', createdAt: Date.now()}],
})

describe.skipIf(skipWithoutPostgres)('the directory on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  /** a node: its own pool on the store at `url`, and the directory over it (closed by usePgPools) */
  const node = async (url: string) => pgDirectory((await pools.node(url, {poolSize: 4})).pool)

  directoryContract('PostgreSQL', async (): Promise<OpenedBackend> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: pgDirectory(store.pool),
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 2})
        return {...pgDirectory(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })

  it('a write acknowledged on node A is read at once on nodes B and C, whose snapshots were older', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const a = pgDirectory(store.pool)
    const [b, c] = [await node(url), await node(url)]
    await a.directory.addDomain(domain('example.com'))
    // B and C now hold a snapshot (version 1) that each write below makes stale
    for (const n of [b, c]) expect(await n.directory.isLocalDomain('example.com')).toBe(true)

    for (let i = 0; i < 20; i++) {
      const address = `u${i}@example.com`
      await a.directory.addUser({address, passwordHash: HASH})
      // no wait, no notification: the very next read on another node has it
      expect(await b.directory.user(address)).toMatchObject({address})
      expect(await c.directory.resolve(address)).toEqual({local: [address], remote: []})
      await b.directory.addAlias(`alias${i}@example.com`, [address])
      expect(await c.directory.resolve(`alias${i}@example.com`)).toEqual({local: [address], remote: []})
      expect(await a.directory.alias(`alias${i}@example.com`)).toMatchObject({targets: [address]})
    }
    await c.directory.updateUser('u0@example.com', {disabled: true})
    expect(await a.directory.user('u0@example.com')).toMatchObject({disabled: true})
    await a.directory.removeUser('u0@example.com')
    expect(await b.directory.user('u0@example.com')).toBeUndefined()
    expect(await c.directory.alias('alias0@example.com')).toBeUndefined()
    expect(await b.directory.counts()).toEqual({domains: 1, users: 19, aliases: 19})
    // a rotation on one node is what the others sign with next
    await b.dkim.rotate('example.com', [{...domain('example.com').keys[0]!, selector: 'b-ed25519'}], Date.now())
    expect((await c.dkim.activeKeys('example.com')).map((k) => k.selector)).toEqual(['b-ed25519'])
  })

  it('a node catching up by the rows changed since its version ends with what a node loading it whole reads', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const a = pgDirectory(store.pool)
    const b = await node(url)
    await a.directory.addDomain(domain('example.com'))
    await a.directory.addDomain(domain('example.org'))
    // keys whose byte order (PostgreSQL's "C", LMDB's) is not JavaScript's UTF-16 order: U+FF21 < U+1F600
    const names = ['zoe', 'amy', '\u{1F600}', '\uFF21', 'bob', 'cy']
    for (const n of names) await a.directory.addUser({address: `${n}@example.com`, passwordHash: HASH})
    await a.directory.addAlias('team@example.com', ['amy@example.com', 'bob@example.com'])
    await a.directory.addAlias('@example.org', ['cy@example.com'])
    expect((await b.directory.users()).map((u) => u.address)).toHaveLength(names.length) // B holds this version now

    // changes B has not seen: adds, updates, removals (cascading into aliases), a key removed and added again, a domain gone
    await a.directory.removeUser('bob@example.com')
    await a.directory.removeUser('cy@example.com') // empties @example.org: it goes too
    await a.directory.addUser({address: 'bob@example.com', passwordHash: 'bob again'})
    await a.directory.updateUser('amy@example.com', {quota: 42})
    await a.directory.addAlias('solo@example.com', ['zoe@example.com'])
    await a.directory.removeAlias('solo@example.com')
    await a.directory.removeDomain('example.org')
    await a.directory.addUser({address: 'dan@example.com', passwordHash: HASH})

    const fresh = await node(url)
    const read = async (n: typeof a) => ({
      domains: await n.directory.domains(),
      users: await n.directory.users(),
      aliases: await n.directory.aliases(),
      counts: await n.directory.counts(),
    })
    const whole = await read(fresh)
    expect(await read(b)).toEqual(whole)
    expect(await read(a)).toEqual(whole)
    const {rows} = await store.pool.query('SELECT address FROM users ORDER BY address')
    expect(whole.users.map((u) => u.address)).toEqual(rows.map((r) => r.address))
    expect(whole.users.map((u) => u.address)).toEqual(['amy@example.com', 'bob@example.com', 'dan@example.com', 'zoe@example.com', '\uFF21@example.com', '\u{1F600}@example.com'])
    expect(whole.aliases).toEqual([expect.objectContaining({alias: 'team@example.com', targets: ['amy@example.com']})])
    expect(await b.directory.user('bob@example.com')).toMatchObject({passwordHash: 'bob again'})
    expect(await b.directory.isLocalDomain('example.org')).toBe(false)
  })

  it('a read called while an older version check is still in flight waits for a newer check', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const a = pgDirectory(store.pool)
    await a.directory.addDomain(domain('example.com'))
    // node B's pool, except that the answer to a version check can be held back (the query itself runs at once)
    const bPool = (await pools.node(url, {poolSize: 4})).pool
    let gate: Promise<void> | undefined
    const held = new Proxy(bPool, {
      get(target, prop) {
        if (prop === 'query') {
          return async (...args: Parameters<typeof bPool.query>) => {
            const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args)
            if (gate && String(args[0]).includes('FROM mailbox_meta')) await gate
            return result
          }
        }
        const value = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const b = pgDirectory(held)
    expect(await b.directory.user('amy@example.com')).toBeUndefined()

    let open!: () => void
    gate = new Promise((resolve) => (open = resolve))
    // a read on B whose version check has run, but not returned, before A's write
    const before = b.directory.user('amy@example.com')
    await new Promise((resolve) => setTimeout(resolve, 100))
    await a.directory.addUser({address: 'amy@example.com', passwordHash: HASH})
    // called after the write resolved: it must not take the answer of the check already in flight
    const after = b.directory.user('amy@example.com')
    gate = undefined
    open()
    expect(await before).toBeUndefined()
    expect(await after).toMatchObject({address: 'amy@example.com'})
  })

  it('the same user added from 3 nodes at once: exactly one wins, the others get `exists` and wrote nothing', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const nodes = [pgDirectory(store.pool), await node(url), await node(url)]
    await nodes[0]!.directory.addDomain(domain('example.com'))
    for (let round = 0; round < 5; round++) {
      const address = `race${round}@example.com`
      // every node holds a snapshot without the address, so none can refuse it early
      for (const n of nodes) expect(await n.directory.user(address)).toBeUndefined()
      const results = await Promise.allSettled(nodes.map((n, i) => n.directory.addUser({address, passwordHash: `hash from node ${i}`})))
      const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []))
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(2)
      for (const err of lost) expect(isMailboxError(err, 'exists')).toBe(true)
      for (const n of nodes) expect((await n.directory.user(address))!.passwordHash).toBe(won[0]!.passwordHash)
      // one set of default folders: the losers' rolled back
      const {rows} = await store.pool.query('SELECT count(*)::int AS n FROM folders WHERE user_address = $1', [address])
      expect(rows[0].n).toBe(6)
    }
    // a user and an alias of one name from different nodes: still one of them
    const results = await Promise.allSettled([
      nodes[0]!.directory.addUser({address: 'both@example.com', passwordHash: HASH}),
      nodes[1]!.directory.addAlias('both@example.com', ['x@example.org']),
      nodes[2]!.directory.addAlias('both@example.com', ['y@example.org']),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const asUser = (await nodes[2]!.directory.user('both@example.com')) !== undefined
    const asAlias = (await nodes[0]!.directory.alias('both@example.com')) !== undefined
    expect(asUser !== asAlias).toBe(true)
  })

  it('each directory write signals the other nodes with its version at commit; a refused one sends nothing', async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const a = pgDirectory(store.pool)
    const listener = new ChangeListener(url)
    const heard: StoreChange[] = []
    listener.subscribe((change) => heard.push(change))
    await listener.start()
    try {
      await a.directory.addDomain(domain('example.com'))
      await a.directory.addUser({address: 'amy@example.com', passwordHash: HASH})
      expect(isMailboxError(await a.directory.addUser({address: 'amy@example.com', passwordHash: HASH}).catch((err) => err), 'exists')).toBe(true)
      await a.dkim.rotate('example.com', [{...domain('example.com').keys[0]!, selector: 'b-ed25519'}], Date.now())
      for (let i = 0; i < 100 && heard.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20))
      await new Promise((resolve) => setTimeout(resolve, 100)) // nothing more is coming
      expect(heard).toEqual([1, 2, 3].map((version) => ({kind: 'directory', version})))
    } finally {
      await listener.stop()
    }
  })

  it('removing a user with mail releases their blobs, keeping one another user still uses', async () => {
    const {store} = await pools.fresh({poolSize: 4})
    const {directory} = pgDirectory(store.pool)
    await directory.addDomain(domain('example.com'))
    for (const address of ['amy@example.com', 'bob@example.com']) await directory.addUser({address, passwordHash: HASH})
    // one blob in both INBOXes, one in amy's alone (as a delivery to both would leave them)
    const q = (sql: string, params: unknown[] = []) => store.pool.query(sql, params)
    await q("INSERT INTO blobs (id, bytes) VALUES ('shared', 'x'), ('own', 'y')")
    await q("INSERT INTO blob_info (blob_id, refs, size, created_at) VALUES ('shared', 2, 1, 0), ('own', 1, 1, 0)")
    for (const [user, blob] of [['amy@example.com', 'shared'], ['bob@example.com', 'shared'], ['amy@example.com', 'own']] as const) {
      await q(
        `WITH f AS (UPDATE folders SET uid_next = uid_next + 1, messages = messages + 1, size = size + 1
                     WHERE user_address = $1 AND name = 'INBOX' RETURNING id, uid_next - 1 AS uid)
         INSERT INTO messages (folder_id, uid, blob_id, internal_date, size, modseq) SELECT id, uid, $2, 0, 1, 1 FROM f`,
        [user, blob],
      )
    }
    const refused = await directory.removeUser('amy@example.com').catch((err) => err)
    expect(isMailboxError(refused, 'conflict')).toBe(true)
    expect((await directory.removeUser('amy@example.com', {force: true})).usage).toEqual({messages: 2, size: 2, folders: 6})
    const blobs = await q('SELECT b.id, i.refs FROM blobs b JOIN blob_info i ON i.blob_id = b.id ORDER BY b.id')
    expect(blobs.rows).toEqual([{id: 'shared', refs: 1}])
    expect((await q("SELECT count(*)::int AS n FROM folders WHERE user_address = 'amy@example.com'")).rows[0].n).toBe(0)
  })
})
