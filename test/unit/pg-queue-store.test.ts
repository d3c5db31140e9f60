/**
 * `store.queue` on PostgreSQL (`pgQueue` of src/store/pg/queue.ts): the contract the LMDB backend
 * passes (test/helpers/queue-contract.ts), each test in a fresh schema of this file's private
 * server; then what only several nodes can show, three pools on one database as three nodes:
 * 200 due entries claimed by all three at once are each claimed exactly once; a claim whose lease
 * ran out is taken over by another node, whose outcome stands while the first owner's is refused;
 * holds and deletes racing claims leave every entry either claimed or changed, never both.
 */
import type pg from 'pg'
import {describe, expect, it} from 'vitest'
import type {QueueStore} from '../../src/store/backend.js'
import {blobRefs, putBlob} from '../../src/store/pg/blobs.js'
import {ChangeListener, type StoreChange} from '../../src/store/pg/changes.js'
import {transaction} from '../../src/store/pg/connect.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {pgQueue, putQueueEntry} from '../../src/store/pg/queue.js'
import type {QueueEntry} from '../../src/store/records.js'
import {queueContract, queueEntry} from '../helpers/queue-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const MINUTE = 60_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function enqueue(pool: pg.Pool, entries: QueueEntry[], blobId = 'mail'): Promise<void> {
  await transaction(pool, async (c) => {
    const refs = entries.filter((e) => e.state !== 'delivered' && e.state !== 'failed').length
    await putBlob(c, blobId, Buffer.from('Subject: out\r\n\r\nx\r\n'), {refs, size: 19, createdAt: Date.now()})
    for (const e of entries) await putQueueEntry(c, e)
  })
}

const delivered = (e: QueueEntry, node: string) => ({
  recipients: e.recipients.map((r) => ({...r, state: 'delivered' as const})),
  state: 'delivered' as const,
  nextAttemptAt: Date.now(),
  attempt: {queueId: e.id, attempt: e.attempts, startedAt: 1, endedAt: 2, host: node, result: 'delivered' as const, transcript: []},
})

describe.skipIf(skipWithoutPostgres)('store.queue on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  queueContract('PostgreSQL', async () => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      queue: pgQueue(store.pool, 'node-a'),
      enqueue: (entries, blobId) => enqueue(store.pool, entries, blobId),
      blobRefs: (blobId) => blobRefs(store.pool, blobId),
      close: () => store.close(),
    }
  })

  /** three nodes on one fresh store, each with its own pool */
  const threeNodes = async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const nodes = [store.pool, (await pools.node(url, {poolSize: 4})).pool, (await pools.node(url, {poolSize: 4})).pool]
    return {url, pool: store.pool, queues: nodes.map((p, i) => pgQueue(p, `node-${'abc'[i]}`))}
  }

  /** a node's foreman in miniature: scans the due order and claims what it lists, until nothing is left */
  const drain = async (queue: QueueStore) => {
    const got: string[] = []
    for (let round = 0; round < 200; round++) {
      const listed: string[] = []
      await queue.due(Date.now(), {maxKeys: 20}, (e) => void listed.push(e.id))
      if (!listed.length) break
      const claims = await Promise.all(listed.map((id) => queue.claim(id, Date.now(), MINUTE)))
      got.push(...claims.flatMap((c) => (c ? [c.id] : [])))
    }
    return got
  }

  it('200 due entries claimed by three nodes at once: each exactly once, attempts 1', async () => {
    const {pool, queues} = await threeNodes()
    const ids = Array.from({length: 200}, (_, i) => `e${String(i).padStart(3, '0')}`)
    await enqueue(pool, ids.map((id, i) => queueEntry(id, {priority: (['high', 'default', 'bulk'] as const)[i % 3], nextAttemptAt: Date.now() - i})))
    const got = await Promise.all(queues.map(drain))
    const all = got.flat()
    expect(all.length).toBe(200)
    expect(new Set(all).size).toBe(200)
    expect([...all].sort()).toEqual(ids)
    const sending = await queues[0]!.entries('sending')
    expect(sending.every((e) => e.attempts === 1)).toBe(true)
    const {rows} = await pool.query("SELECT lease_owner, count(*)::int AS n FROM queue GROUP BY 1 ORDER BY 1")
    expect(rows).toEqual(got.map((g, i) => ({lease_owner: `node-${'abc'[i]}`, n: g.length})).filter((r) => r.n > 0))
  }, 60_000)

  it("a claim whose lease ran out is listed as due and taken over by another node; the first owner's renewal and outcome are refused", async () => {
    const {pool, queues} = await threeNodes()
    const [a, b] = queues as [QueueStore, QueueStore]
    await enqueue(pool, [queueEntry('q1')])
    const LEASE_MS = 2000 // B's first look surely comes before it runs out, even on a loaded machine
    const claimedAt = Date.now()
    const first = (await a.claim('q1', Date.now(), LEASE_MS))!
    expect(first).toMatchObject({state: 'sending', attempts: 1})
    // A now "dies": no renewal, no outcome. While its lease holds, B neither lists nor gets it.
    const listed = async () => {
      const ids: string[] = []
      await b.due(Date.now(), {}, (e) => void ids.push(e.id))
      return ids
    }
    expect(await listed()).toEqual([])
    expect(await b.claim('q1', Date.now(), MINUTE)).toBeUndefined()
    const wakeAt = await b.nextDue() // B's foreman would wake when A's lease runs out
    expect(wakeAt).toBeGreaterThan(claimedAt)
    expect(wakeAt).toBeLessThan(claimedAt + LEASE_MS + 5000)
    let taken: QueueEntry | undefined
    for (let i = 0; i < 100 && !taken; i++) {
      await sleep(100)
      if ((await listed()).includes('q1')) taken = await b.claim('q1', Date.now(), MINUTE)
    }
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(LEASE_MS)
    expect(taken).toMatchObject({id: 'q1', state: 'sending', attempts: 2})
    // A was only slow: its lease is not renewed and its outcome is refused; B's stands
    expect(await a.renewLeases(['q1'], MINUTE)).toEqual([])
    expect(await a.finish('q1', delivered(first, 'node-a'))).toBeUndefined()
    expect(await blobRefs(pool, 'mail')).toBe(1)
    expect(await b.finish('q1', delivered(taken!, 'node-b'))).toMatchObject({state: 'delivered', attempts: 2})
    expect((await a.attempts('q1')).map((r) => [r.attempt, r.host])).toEqual([[2, 'node-b']])
    expect(await blobRefs(pool, 'mail')).toBe(0)
  }, 60_000)

  it('holds and deletes racing claims from three nodes: each entry ends claimed or changed, never both', async () => {
    const {pool, queues} = await threeNodes()
    const ids = Array.from({length: 60}, (_, i) => `r${String(i).padStart(2, '0')}`)
    await enqueue(pool, ids.map((id) => queueEntry(id)))
    const [a, b, c] = queues as [QueueStore, QueueStore, QueueStore]
    const settle = <T>(p: Promise<T>) => p.then((v) => ({ok: true as const, v}), (err: Error) => ({ok: false as const, err}))
    const results = await Promise.all(
      ids.map(async (id, i) => {
        const [claimB, admin, claimC] = await Promise.all([
          settle(b.claim(id, Date.now(), MINUTE)),
          settle(i % 2 ? a.hold(id) : a.delete(id)),
          settle(c.claim(id, Date.now(), MINUTE)),
        ])
        return {id, hold: i % 2 === 1, claims: [claimB, claimC].filter((r) => r.ok && r.v).length, admin}
      }),
    )
    for (const r of results) {
      const entry = await a.entry(r.id)
      if (r.admin.ok) {
        // the administrator got there first: nobody claimed it
        expect(r.claims, r.id).toBe(0)
        if (r.hold) expect(entry?.state).toBe('held')
        else expect(entry).toBeUndefined()
      } else {
        // a claim got there first: exactly one, and the change was refused as conflicting
        expect(r.claims, r.id).toBe(1)
        expect(r.admin.err.message).toMatch(/it is sending|being sent right now/)
        expect(entry).toMatchObject({state: 'sending', attempts: 1})
      }
    }
    const deleted = results.filter((r) => !r.hold && r.admin.ok).length
    expect(await blobRefs(pool, 'mail')).toBe(60 - deleted)
  }, 60_000)

  it('a write that makes an entry due signals the other nodes at COMMIT', async () => {
    const {url, pool, queues} = await threeNodes()
    const changes: StoreChange[] = []
    const listener = new ChangeListener(url)
    listener.subscribe((c) => void changes.push(c))
    await listener.start()
    try {
      await enqueue(pool, [queueEntry('s1', {state: 'held'})])
      const released = await queues[1]!.release('s1')
      for (let i = 0; i < 50 && !changes.some((c) => c.kind === 'queue'); i++) await sleep(50)
      expect(changes).toContainEqual({kind: 'queue', dueAt: released.nextAttemptAt})
    } finally {
      await listener.stop()
    }
  }, 30_000)
})
