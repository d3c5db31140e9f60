/**
 * The learning actor (src/spam/learn-actor.ts) on a real LMDB store with the real mailstore
 * actor (its `mailstore.copy` publishes the hook) and a real HTTP controller on loopback that
 * answers as told: a full queue refuses the moves past its bound (counted `overflow`), a refusal
 * (HTTP 403) is not retried, a server error is retried until it is learned, a job whose message
 * is gone is dropped, and nothing is trained without a controller.
 */
import {createServer, type Server} from 'node:http'
import {afterEach, describe, expect, it} from 'vitest'
import {Bus, type BusEvent, type EventMap} from '../../src/bus.js'
import {silentLogger} from '../../src/log.js'
import {MailstoreActor} from '../../src/mailstore/actor.js'
import {LearnActor} from '../../src/spam/learn-actor.js'
import {RspamdClient} from '../../src/spam/rspamd.js'
import {DEFAULT_RSPAMD, type RspamdConfig} from '../../src/spam/rspamd-config.js'
import type {Store} from '../../src/store/store.js'
import {tempStore} from '../helpers/store.js'
import {until} from '../helpers/until.js'

const USER = 'amy@example.test'

/** a controller answering each request with the next of `statuses` (the last repeats) */
async function controller(statuses: number[]): Promise<{server: Server; url: string; requests: string[]}> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${req.headers.password ?? ''}`)
      const status = statuses[Math.min(requests.length - 1, statuses.length - 1)]!
      res.writeHead(status, {'content-type': 'application/json'})
      res.end(status === 200 ? '{"success":true}' : `{"error":"status ${status}"}`)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {server, url: `http://127.0.0.1:${(server.address() as {port: number}).port}`, requests}
}

const stops: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

async function setup(config: Partial<RspamdConfig>, controllerUrl?: string) {
  const store: Store = tempStore()
  await store.directory.addDomain({
    record: {name: 'example.test', createdAt: Date.now()},
    keys: [{domain: 'example.test', selector: 'a', algorithm: 'ed25519', privateKey: 'private', publicKey: 'public', state: 'active', createdAt: Date.now()}],
  })
  await store.directory.addUser({address: USER, passwordHash: ''})
  const bus = new Bus()
  const outcomes: EventMap['spam.learn'][] = []
  bus.subscribe('spam.learn', (e: BusEvent) => outcomes.push(e.body as EventMap['spam.learn']))
  const rspamd = {...DEFAULT_RSPAMD, ...config}
  const client = controllerUrl ? new RspamdClient({controllerUrl, password: 'pw', timeoutMs: 2000, maxConnections: 2, maxReplyBytes: 65536}) : undefined
  const mailstore = new MailstoreActor(bus, store, silentLogger)
  const learn = new LearnActor(bus, store, silentLogger, rspamd, client)
  await mailstore.start()
  await learn.start()
  stops.push(() => mailstore.stop(), () => learn.stop())
  const append = async (n: number) => {
    const raw = Array.from({length: n}, (_, i) => Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`))
    await bus.call('mailstore.append', {user: USER, folder: 'INBOX', messages: raw.map((r) => ({raw: r, flags: []}))})
  }
  const move = async (from: string, to: string, uids: number[]) => {
    const view = await bus.call('mailstore.view', {user: USER, name: from})
    return bus.call('mailstore.copy', {user: USER, mailboxId: view.folder.id, uids, to, move: true})
  }
  const count = (outcome: string) => outcomes.filter((o) => o.outcome === outcome).reduce((n, o) => n + o.count, 0)
  return {store, bus, learn, append, move, count}
}

describe('learning actor', () => {
  it('a full queue stores no more: the moves past learnMaxQueued are counted as overflow, the rest learned', async () => {
    const c = await controller([200])
    stops.push(() => void c.server.close())
    const t = await setup({learnMaxQueued: 2}, c.url)
    await t.append(3)
    // the worker may drain between two moves: one move of all three meets the bound at once
    await t.move('INBOX', 'Junk', [1, 2, 3])
    await until(() => t.count('learned') === 2)
    expect(t.count('queued')).toBe(2)
    expect(t.count('overflow')).toBe(1)
    expect(c.requests).toEqual(['POST /learnspam pw', 'POST /learnspam pw'])
    expect(await t.store.learn.count()).toBe(0)
  })

  it('a refusal (403) is not retried: the job is given up after one attempt', async () => {
    const c = await controller([403])
    stops.push(() => void c.server.close())
    const t = await setup({learnRetryMs: 100}, c.url)
    await t.append(1)
    await t.move('INBOX', 'Junk', [1])
    await until(() => t.count('failed') === 1)
    expect(c.requests).toHaveLength(1)
    expect(await t.store.learn.count()).toBe(0)
  })

  it('a server error is retried (after learnRetryMs) until learned; out of Junk is ham', async () => {
    const c = await controller([500, 502, 200])
    stops.push(() => void c.server.close())
    const t = await setup({learnRetryMs: 100}, c.url)
    await t.append(1)
    await t.bus.call('mailstore.createFolder', {user: USER, name: 'Receipts'})
    await t.move('INBOX', 'Junk', [1])
    await until(() => t.count('learned') === 1, 10_000)
    expect(c.requests).toEqual(['POST /learnspam pw', 'POST /learnspam pw', 'POST /learnspam pw'])
    await t.move('Junk', 'Receipts', [1])
    await until(() => t.count('learned') === 2)
    expect(c.requests.at(-1)).toBe('POST /learnham pw')
  })

  it("a job whose message is gone is dropped without asking rspamd", async () => {
    const c = await controller([200])
    stops.push(() => void c.server.close())
    const t = await setup({}, c.url)
    await t.store.learn.enqueue([{user: USER, blobId: 'no-such-blob', kind: 'spam'}], Date.now(), 10)
    t.learn.kick()
    await until(() => t.count('gone') === 1)
    expect(c.requests).toEqual([])
    expect(await t.store.learn.count()).toBe(0)
  })

  it('without a controller the moves are counted untrained and nothing is queued', async () => {
    const t = await setup({})
    await t.append(2)
    await t.move('INBOX', 'Junk', [1, 2])
    await t.move('Junk', 'Trash', [1])
    await until(() => t.count('untrained') === 2)
    expect(await t.store.learn.count()).toBe(0)
  })
})
