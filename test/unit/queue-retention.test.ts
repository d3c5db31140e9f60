/**
 * The foreman's retention purge (src/queue/actor.ts, `queue.retentionMs`) on both backends: a
 * real QueueActor over a real store, with a retention of seconds (its purge then runs every
 * second): finished entries past it go with their delivery logs, at start and on the timer, and
 * the log says how many; younger ones stay until they are past it too; 0 keeps them for ever.
 */
import type pg from 'pg'
import {afterEach, describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import {createLogger} from '../../src/log.js'
import {DEFAULT_QUEUE, QueueActor, purgeEveryMs} from '../../src/queue/actor.js'
import type {QueueStore} from '../../src/store/backend.js'
import {putQueueEntry} from '../../src/store/lmdb-queue.js'
import {putBlob} from '../../src/store/pg/blobs.js'
import {transaction} from '../../src/store/pg/connect.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {pgQueue, putQueueEntry as putPgQueueEntry} from '../../src/store/pg/queue.js'
import type {QueueEntry} from '../../src/store/records.js'
import {queueEntry} from '../helpers/queue-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {contractTempStore} from '../helpers/store.js'
import {until} from '../helpers/until.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Opened {
  queue: QueueStore
  enqueue(entries: QueueEntry[]): Promise<void>
  close(): Promise<void>
}

const BLOB = Buffer.from('Subject: out\r\n\r\nx\r\n')

function retentionSuite(name: string, open: () => Promise<Opened>) {
  describe(`queue retention on ${name}`, () => {
    const closing: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const close of closing.splice(0).reverse()) await close()
    })

    /** a store whose entries are all finished (so the foreman has nothing to send): `old` long ago, `young` now, each with its attempt */
    async function finished(old: number, young: number) {
      const opened = await open()
      closing.push(() => opened.close())
      const {queue} = opened
      const entries = [...Array.from({length: old}, (_, i) => queueEntry(`old-${i}`)), ...Array.from({length: young}, (_, i) => queueEntry(`young-${i}`))]
      await opened.enqueue(entries)
      const now = Date.now()
      for (const e of entries) {
        const claimed = (await queue.claim(e.id, now, 60_000))!
        const at = e.id.startsWith('old') ? now - 60_000 : now
        const attempt = {queueId: e.id, attempt: claimed.attempts, startedAt: at, endedAt: at, host: 'mx.remote.test', result: 'delivered' as const, transcript: ['> EHLO', '< 250 ok']}
        await queue.finish(e.id, {recipients: claimed.recipients, state: 'delivered', nextAttemptAt: at, attempt})
      }
      return queue
    }

    function foreman(queue: QueueStore, retentionMs: number, lines: Record<string, unknown>[]) {
      const log = createLogger({level: 'info', pretty: false, write: (line: string) => void lines.push(JSON.parse(line))})
      const actor = new QueueActor(new Bus(), queue, log, {hostname: 'mx.example.com', queue: {...DEFAULT_QUEUE, retentionMs}, route: {routes: {}, dnsServers: [], insecure: false}})
      closing.push(() => actor.stop())
      return actor
    }

    const ids = async (queue: QueueStore) => (await queue.entries()).map((e) => e.id).sort()

    it('finished entries past queue.retentionMs go with their delivery logs, at start and then on the timer; the log says how many', async () => {
      const queue = await finished(3, 2)
      expect(await queue.attempts('old-0')).toHaveLength(1)
      const lines: Record<string, unknown>[] = []
      await foreman(queue, 4_000, lines).start()
      await until(async () => (await ids(queue)).length === 2)
      expect(await ids(queue)).toEqual(['young-0', 'young-1'])
      expect(await queue.attempts('old-0')).toEqual([])
      expect(await queue.attempts('young-0')).toHaveLength(1)
      await until(async () => lines.some((l) => l.removed === 3))
      // the young ones are past it 4 s after they finished: the timer (every second) takes them
      await until(async () => (await ids(queue)).length === 0)
      expect(await queue.attempts('young-1')).toEqual([])
      expect(lines.filter((l) => typeof l.removed === 'number').map((l) => l.removed)).toEqual([3, 2])
    })

    it('0 keeps finished entries for ever', async () => {
      const queue = await finished(2, 0)
      await foreman(queue, 0, []).start()
      await sleep(1_500)
      expect(await ids(queue)).toEqual(['old-0', 'old-1'])
      expect(await queue.attempts('old-1')).toHaveLength(1)
    })
  })
}

describe('purgeEveryMs', () => {
  it('hourly, or a quarter of a shorter retention, at least a second', () => {
    expect(purgeEveryMs(7 * 86_400_000)).toBe(3_600_000)
    expect(purgeEveryMs(60_000)).toBe(15_000)
    expect(purgeEveryMs(2_000)).toBe(1_000)
  })
})

retentionSuite('LMDB', async () => {
  const {backend: store, close} = contractTempStore()
  return {
    queue: store.queue,
    enqueue: async (entries) =>
      store.transact(() => {
        store.blobs.putSync('mail', BLOB)
        store.blobInfo.putSync('mail', {refs: entries.length, size: BLOB.length, createdAt: Date.now()})
        for (const e of entries) putQueueEntry(store, e)
      }),
    close,
  }
})

describe.skipIf(skipWithoutPostgres)('PostgreSQL', () => {
  const server = usePostgres()
  retentionSuite('PostgreSQL', async () => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    const pool: pg.Pool = store.pool
    return {
      queue: pgQueue(pool, 'node-a'),
      enqueue: (entries) =>
        transaction(pool, async (c) => {
          await putBlob(c, 'mail', BLOB, {refs: entries.length, size: BLOB.length, createdAt: Date.now()})
          for (const e of entries) await putPgQueueEntry(c, e)
        }),
      close: () => store.close(),
    }
  })
})
