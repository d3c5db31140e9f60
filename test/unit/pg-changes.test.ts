/**
 * The change signal between nodes (src/store/pg/changes.ts) on a real private server, three
 * pools and three listen connections standing for three nodes: a commit on A reaches B's and C's
 * subscribers within a second; a rollback sends nothing; a listen connection the server kills is
 * re-opened and followed by `resync`; a transaction touching one folder 10,000 times sends one
 * notification, and one touching more folders than MAX_FOLDER_SIGNALS sends one `resync`; bad
 * payloads are ignored, never a crash.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {createLogger} from '../../src/log.js'
import {ChangeListener, MAX_FOLDER_SIGNALS, parseChange, signalledTransaction, type StoreChange} from '../../src/store/pg/changes.js'
import {transaction, type PgStorePool} from '../../src/store/pg/connect.js'
import {createFolder} from '../../src/store/pg/folders.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {deliverSignalled as deliver} from '../helpers/pg-mail.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** short reconnect pauses and checks for tests */
const FAST = {reconnectMinMs: 50, reconnectMaxMs: 500, checkEveryMs: 500, timeoutMs: 5_000}

/** what a node's subscriber heard, and a way to wait for a change */
function ear(listener: ChangeListener) {
  const heard: {change: StoreChange; at: number}[] = []
  listener.subscribe((change) => heard.push({change, at: performance.now()}))
  return {
    heard,
    async waitFor(match: (c: StoreChange) => boolean, ms = 5_000): Promise<number> {
      const until = Date.now() + ms
      for (;;) {
        const found = heard.find((h) => match(h.change))
        if (found) return found.at
        if (Date.now() > until) throw new Error(`no matching change within ${ms} ms; heard ${JSON.stringify(heard.map((h) => h.change))}`)
        await sleep(10)
      }
    },
  }
}


describe.skipIf(skipWithoutPostgres)('change signals on PostgreSQL', () => {
  const server = usePostgres()
  // each test's pools and listeners are closed after it: the private server allows 60 connections
  const pools: PgStorePool[] = []
  const listeners: ChangeListener[] = []
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop()))
    await Promise.all(pools.splice(0).map((p) => p.close()))
  })

  /** three nodes: a pool and a started listener each */
  async function cluster() {
    const url = await server().createSchema()
    const nodes = []
    for (let i = 0; i < 3; i++) {
      const store = await openPgDatabase(url, {poolSize: 2})
      pools.push(store)
      const listener = new ChangeListener(url, FAST)
      listeners.push(listener)
      await listener.start()
      nodes.push({pool: store.pool, listener, ear: ear(listener)})
    }
    return {url, nodes}
  }

  it("a commit on A reaches B's and C's subscribers within a second, with the folder's new HIGHESTMODSEQ", async () => {
    const {nodes} = await cluster()
    const [a, b, c] = nodes
    const folder = await transaction(a!.pool, (client) => createFolder(client, 'u@x.test', 'INBOX'))
    const latencies: number[] = []
    for (let i = 1; i <= 5; i++) {
      const start = performance.now()
      const {modseq} = await deliver(a!.pool, folder.id, `m${i}`)
      const isIt = (ch: StoreChange) => ch.kind === 'mailbox' && ch.mailboxId === folder.id && ch.highestModseq === modseq
      const arrived = await Promise.all([b!.ear.waitFor(isIt), c!.ear.waitFor(isIt), a!.ear.waitFor(isIt)])
      latencies.push(Math.max(...arrived) - start)
    }
    console.log(`notify latency, commit start to all three subscribers: ${latencies.map((l) => l.toFixed(1)).join(', ')} ms`)
    expect(Math.max(...latencies)).toBeLessThan(1000)
    expect(b!.ear.heard.map((h) => h.change)).toContainEqual({kind: 'mailbox', user: 'u@x.test', mailboxId: folder.id, highestModseq: 6})
  })

  it('a rolled-back transaction sends nothing', async () => {
    const {nodes} = await cluster()
    const [a, b] = nodes
    const folder = await transaction(a!.pool, (client) => createFolder(client, 'u@x.test', 'INBOX'))
    await expect(
      signalledTransaction(a!.pool, async (client, signals) => {
        await client.query('UPDATE folders SET highest_modseq = highest_modseq + 1 WHERE id = $1', [folder.id])
        signals.folder(folder.id)
        signals.queue(Date.now())
        signals.directory()
        await signals.send(client) // sent inside the transaction, then rolled back
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    // a later committed signal arrives, and nothing before it did
    await signalledTransaction(a!.pool, async (_client, signals) => signals.capture())
    await b!.ear.waitFor((ch) => ch.kind === 'capture')
    expect(b!.ear.heard.map((h) => h.change)).toEqual([{kind: 'capture'}])
  })

  it('queue and directory signals carry their fields; one transaction sends the earliest due time', async () => {
    const {nodes} = await cluster()
    const [a, b] = nodes
    await signalledTransaction(a!.pool, async (_client, signals) => {
      signals.queue(5000)
      signals.queue(3000)
      signals.directory(7)
    })
    await b!.ear.waitFor((ch) => ch.kind === 'directory')
    await b!.ear.waitFor((ch) => ch.kind === 'queue')
    expect(b!.ear.heard.map((h) => h.change)).toEqual([
      {kind: 'queue', dueAt: 3000},
      {kind: 'directory', version: 7},
    ])
  })

  it("B's listen connection killed by the server: B reconnects, emits resync, and hears later changes", async () => {
    const {nodes} = await cluster()
    const [a, b, c] = nodes
    const killed = b!.listener.backendPid!
    const start = performance.now()
    await a!.pool.query('SELECT pg_terminate_backend($1)', [killed])
    const resyncAt = await b!.ear.waitFor((ch) => ch.kind === 'resync', 10_000)
    console.log(`listen connection killed → resync after ${(resyncAt - start).toFixed(1)} ms`)
    expect(b!.listener.backendPid).not.toBe(killed)
    expect(b!.listener.stats.reconnects).toBe(1)
    expect(c!.ear.heard).toEqual([])
    await signalledTransaction(a!.pool, async (_client, signals) => signals.directory())
    await b!.ear.waitFor((ch) => ch.kind === 'directory')
    await c!.ear.waitFor((ch) => ch.kind === 'directory')
  })

  it('keeps retrying while the database refuses it, then resyncs', async () => {
    const {url, nodes} = await cluster()
    const [a] = nodes
    // the listen role may not log in for a while: every reconnect attempt fails until it may again
    await a!.pool.query('CREATE ROLE flaky LOGIN')
    const {rows} = await a!.pool.query('SELECT current_schema() AS schema')
    await a!.pool.query(`GRANT USAGE ON SCHEMA ${rows[0].schema} TO flaky`)
    const flakyUrl = url.replace('mailbox@', 'flaky@')
    const listener = new ChangeListener(flakyUrl, FAST)
    listeners.push(listener)
    await listener.start()
    const flaky = ear(listener)
    await a!.pool.query('ALTER ROLE flaky NOLOGIN')
    await a!.pool.query('SELECT pg_terminate_backend($1)', [listener.backendPid])
    await sleep(1500) // several failed attempts (50 ms doubling up to 500 ms)
    expect(flaky.heard).toEqual([])
    await a!.pool.query('ALTER ROLE flaky LOGIN')
    await flaky.waitFor((ch) => ch.kind === 'resync', 10_000)
    await listener.stop()
    await a!.pool.query('DROP OWNED BY flaky')
    await a!.pool.query('DROP ROLE flaky')
  })

  it('10,000 changes to one folder in one transaction: one notification with the final MODSEQ', async () => {
    const {nodes} = await cluster()
    const [a, b] = nodes
    const folder = await transaction(a!.pool, (client) => createFolder(client, 'u@x.test', 'INBOX'))
    const final = await signalledTransaction(a!.pool, async (client, signals) => {
      let modseq = 0
      for (let i = 0; i < 10_000; i++) {
        signals.folder(folder.id)
        if (i % 1000 === 999) {
          const {rows} = await client.query('UPDATE folders SET highest_modseq = highest_modseq + 1000 WHERE id = $1 RETURNING highest_modseq', [folder.id])
          modseq = rows[0].highest_modseq
        }
      }
      // and the same payload sent raw 10,000 times: PostgreSQL folds duplicates within a transaction
      await client.query("SELECT pg_notify('mailbox.' || current_schema(), '{\"k\":\"c\"}') FROM generate_series(1, 10000)")
      return modseq
    })
    await b!.ear.waitFor((ch) => ch.kind === 'mailbox')
    await b!.ear.waitFor((ch) => ch.kind === 'capture')
    await sleep(300)
    // (the raw ones were sent inside the transaction, the folder's signal just before COMMIT)
    expect(b!.ear.heard.map((h) => h.change)).toEqual([
      {kind: 'capture'},
      {kind: 'mailbox', user: 'u@x.test', mailboxId: folder.id, highestModseq: final},
    ])
  })

  it(`more than ${MAX_FOLDER_SIGNALS} folders in one transaction: one resync instead of a notification each`, async () => {
    const {nodes} = await cluster()
    const [a, b] = nodes
    await signalledTransaction(a!.pool, async (client, signals) => {
      const {rows} = await client.query(
        `INSERT INTO folders (user_address, name, uid_validity, created_at)
         SELECT 'u@x.test', 'f' || n, 1, 0 FROM generate_series(1, 10000) AS n RETURNING id`,
      )
      for (const row of rows) signals.folder(row.id)
    })
    await b!.ear.waitFor((ch) => ch.kind === 'resync')
    await sleep(300)
    expect(b!.ear.heard.map((h) => h.change)).toEqual([{kind: 'resync'}])
  })

  it('ignores payloads that are not ours (logging the first), and keeps listening', async () => {
    const {url, nodes} = await cluster()
    const [a, b] = nodes
    const lines: string[] = []
    const logged = new ChangeListener(url, FAST, createLogger({pretty: false, write: (line) => void lines.push(line)}))
    listeners.push(logged)
    await logged.start()
    for (const bad of ['not json', '{"k":"m","f":-1,"m":2,"u":"x"}', '{"k":"m","f":1}', '{"k":"zz"}', '[]', 'null', JSON.stringify({k: 'c', pad: 'x'.repeat(2000)})]) {
      await a!.pool.query("SELECT pg_notify('mailbox.' || current_schema(), $1)", [bad])
    }
    await signalledTransaction(a!.pool, async (_client, signals) => signals.directory())
    await b!.ear.waitFor((ch) => ch.kind === 'directory')
    expect(b!.ear.heard.map((h) => h.change)).toEqual([{kind: 'directory'}])
    expect(b!.listener.stats.ignored).toBe(7)
    for (let i = 0; i < 100 && logged.stats.notifications === 0; i++) await sleep(20)
    expect(logged.stats.ignored).toBe(7)
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['store change listener ignored a notification it cannot read'])
    expect(JSON.parse(lines[0]!)).toMatchObject({level: 'warn', payload: 'not json', ignored: 1})
    expect(parseChange('{"k":"q","d":1.5}')).toBeUndefined()
    expect(parseChange('{"k":"m","f":1,"m":2,"u":"a@b"}')).toEqual({kind: 'mailbox', mailboxId: 1, highestModseq: 2, user: 'a@b'})
    expect(parseChange('{"k":"s","u":"a@b"}')).toEqual({kind: 'sieve', user: 'a@b'})
    expect(parseChange('{"k":"s"}')).toBeUndefined()
    expect(parseChange(JSON.stringify({k: 's', u: 'x'.repeat(321)}))).toBeUndefined()
    expect(parseChange('{"k":"t","n":"mail.example.com"}')).toEqual({kind: 'certificate', name: 'mail.example.com'})
    expect(parseChange('{"k":"t","n":7}')).toBeUndefined()
  })

  it('stores in two schemas of one database do not hear each other', async () => {
    const one = await cluster()
    const two = await cluster()
    await signalledTransaction(one.nodes[0]!.pool, async (_client, signals) => signals.capture())
    await one.nodes[1]!.ear.waitFor((ch) => ch.kind === 'capture')
    await sleep(300)
    expect(two.nodes[1]!.ear.heard).toEqual([])
  })
})
