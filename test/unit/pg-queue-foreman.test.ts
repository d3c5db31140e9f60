/**
 * The foreman (src/queue/actor.ts) on PostgreSQL: real QueueActors over `pgQueue`, one pool per
 * node on a private server, delivering to an in-process SMTP sink on loopback. Two nodes' foremen
 * share one queue and deliver every entry once; a node that died holding a claim has it taken over
 * once its lease ran out (the foreman wakes for it by itself); a foreman renews the leases of what
 * it holds, so a send longer than the lease is not taken over by another node.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import {createLogger} from '../../src/log.js'
import {DEFAULT_QUEUE, QueueActor} from '../../src/queue/actor.js'
import type {QueueStore} from '../../src/store/backend.js'
import {putBlob} from '../../src/store/pg/blobs.js'
import {transaction} from '../../src/store/pg/connect.js'
import {pgQueue, putQueueEntry} from '../../src/store/pg/queue.js'
import type {QueueEntry} from '../../src/store/records.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'
import {queueEntry} from '../helpers/queue-contract.js'
import {type SmtpSink, startSmtpSink} from '../helpers/smtp-sink.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(skipWithoutPostgres)('the foreman on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  let sink: SmtpSink
  let sinkPort = 0
  const received: string[] = []
  /** how long the sink holds DATA before answering (a slow destination) */
  let holdDataMs = 0
  beforeAll(async () => {
    sink = await startSmtpSink({onMessage: (rcptTo) => void received.push(...rcptTo), holdMs: () => holdDataMs})
    sinkPort = sink.port
  })
  afterAll(() => sink.close())

  const foreman = (queue: QueueStore, leaseSeconds = 60) =>
    new QueueActor(new Bus(), queue, createLogger({level: 'error', pretty: false, write: () => {}}), {
      hostname: 'mx.example.com',
      queue: {...DEFAULT_QUEUE, connectTimeoutMs: 10_000, socketTimeoutMs: 30_000, leaseSeconds},
      route: {routes: {'remote.test': `127.0.0.1:${sinkPort}`}, dnsServers: [], insecure: false},
    })

  const twoNodes = async (entries: QueueEntry[]) => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const other = await pools.node(url, {poolSize: 4})
    await transaction(store.pool, async (c) => {
      await putBlob(c, 'mail', Buffer.from('Subject: out\r\n\r\nx\r\n'), {refs: entries.length, size: 19, createdAt: Date.now()})
      for (const e of entries) await putQueueEntry(c, e)
    })
    return [pgQueue(store.pool, 'node-a'), pgQueue(other.pool, 'node-b')] as const
  }

  const until = async (what: () => Promise<boolean>, ms = 60_000) => {
    const deadline = Date.now() + ms
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error('timed out')
      await sleep(100)
    }
  }

  it('two nodes deliver 100 entries of one queue, each once', async () => {
    const ids = Array.from({length: 100}, (_, i) => `two-${String(i).padStart(3, '0')}`)
    const [a, b] = await twoNodes(ids.map((id) => queueEntry(id)))
    const actors = [foreman(a), foreman(b)]
    try {
      await Promise.all(actors.map((f) => f.start()))
      await until(async () => (await a.counts()).delivered === 100)
    } finally {
      await Promise.all(actors.map((f) => f.stop()))
    }
    const entries = await a.entries()
    expect(entries.every((e) => e.state === 'delivered' && e.attempts === 1)).toBe(true)
    expect(received.filter((r) => r.startsWith('two-')).sort()).toEqual(ids.map((id) => `${id}@remote.test`))
  }, 90_000)

  it("a dead node's claim is taken over by another node's foreman once its lease ran out", async () => {
    const [a, b] = await twoNodes([queueEntry('dead-1')])
    const claimedAt = Date.now()
    const dead = await b.claim('dead-1', Date.now(), 2000) // node B claims, then "dies": no renewal, no outcome
    expect(dead?.state).toBe('sending')
    const f = foreman(a)
    try {
      await f.start()
      await until(async () => (await a.entry('dead-1'))?.state === 'delivered', 30_000)
    } finally {
      await f.stop()
    }
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(2000)
    expect(await a.entry('dead-1')).toMatchObject({state: 'delivered', attempts: 2})
    expect((await a.attempts('dead-1')).map((r) => r.attempt)).toEqual([2])
  }, 60_000)

  it('a send longer than the lease keeps its claim: the foreman renews it', async () => {
    const [a, b] = await twoNodes([queueEntry('slow-1')])
    holdDataMs = 5000
    const f = foreman(a, 3) // renewed every second
    try {
      await f.start()
      await until(async () => (await a.entry('slow-1'))?.state === 'sending', 10_000)
      // for longer than the lease, another node's claims get nothing
      for (const stop = Date.now() + 4500; Date.now() < stop; await sleep(200)) expect(await b.claim('slow-1', Date.now(), 60_000)).toBeUndefined()
      await until(async () => (await a.entry('slow-1'))?.state === 'delivered', 30_000)
    } finally {
      holdDataMs = 0
      await f.stop()
    }
    expect(await a.entry('slow-1')).toMatchObject({state: 'delivered', attempts: 1})
  }, 60_000)
})
