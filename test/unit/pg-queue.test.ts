/**
 * Queue claims in the PostgreSQL store (src/store/pg/queue.ts) on a real private server, two
 * pools standing for two nodes: `FOR UPDATE SKIP LOCKED` claims by priority and due time never
 * hand one entry to both; a claim is a lease, so an entry whose node died is claimed again once
 * the lease has run out, while a renewed lease holds and a finished entry is never claimed.
 */
import type pg from 'pg'
import {describe, expect, it} from 'vitest'
import {blobRefs, putBlob} from '../../src/store/pg/blobs.js'
import {transaction} from '../../src/store/pg/connect.js'
import {claimDue, finishClaim, getQueueEntry, putQueueEntry, renewLeases} from '../../src/store/pg/queue.js'
import type {QueueEntry, QueuePriority} from '../../src/store/records.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const MINUTE = 60_000

function entry(id: string, priority: QueuePriority, nextAttemptAt: number, blobId = 'mail'): QueueEntry {
  return {
    id,
    from: 'a@x.test',
    domain: 'remote.test',
    recipients: [{address: `${id}@remote.test`, state: 'pending'}],
    blobId,
    priority,
    state: 'queued',
    attempts: 0,
    createdAt: nextAttemptAt,
    nextAttemptAt,
  }
}

/** the entries, with one blob holding a reference for each */
async function enqueue(pool: pg.Pool, entries: QueueEntry[]): Promise<void> {
  await transaction(pool, async (c) => {
    await putBlob(c, 'mail', Buffer.from('Subject: out\r\n\r\nx\r\n'), {refs: entries.length, size: 19, createdAt: Date.now()})
    for (const e of entries) await putQueueEntry(c, e)
  })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(skipWithoutPostgres)('queue claims on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  const twoNodes = () => pools.nodes(2, {poolSize: 4})

  it('takes due entries by priority, then due time; leaves entries not yet due, held and finished ones', async () => {
    const [a] = await twoNodes()
    const now = Date.now()
    await enqueue(a, [
      entry('bulk-early', 'bulk', now - 3 * MINUTE),
      entry('default-late', 'default', now - 1 * MINUTE),
      entry('default-early', 'default', now - 2 * MINUTE),
      entry('high', 'high', now - 1000),
      entry('future', 'high', now + 10 * MINUTE),
      {...entry('held', 'high', now - MINUTE), state: 'held'},
      {...entry('done', 'high', now - MINUTE), state: 'delivered'},
      {...entry('deferred-due', 'bulk', now - MINUTE), state: 'deferred'},
    ])
    const claimed = await claimDue(a, {owner: 'node-a', limit: 3, leaseMs: MINUTE, now})
    expect(claimed.map((e) => e.id)).toEqual(['high', 'default-early', 'default-late'])
    expect(claimed.every((e) => e.state === 'sending' && e.attempts === 1)).toBe(true)
    const rest = await claimDue(a, {owner: 'node-a', limit: 10, leaseMs: MINUTE, now})
    expect(rest.map((e) => e.id)).toEqual(['bulk-early', 'deferred-due'])
    expect(await claimDue(a, {owner: 'node-a', limit: 10, leaseMs: MINUTE, now})).toEqual([])
  })

  it('two nodes claiming at once never get the same entry, and between them get every due one', async () => {
    const [a, b] = await twoNodes()
    const now = Date.now()
    const priorities: QueuePriority[] = ['high', 'default', 'bulk']
    const ids = Array.from({length: 120}, (_, i) => `e${String(i).padStart(3, '0')}`)
    await enqueue(a, ids.map((id, i) => entry(id, priorities[i % 3]!, now - i)))
    // each node claims in small batches, several claims in flight at once, until nothing is left
    const drain = async (pool: pg.Pool, owner: string) => {
      const got: string[] = []
      for (let round = 0; round < 200; round++) {
        const batches = await Promise.all([1, 2, 3].map(() => claimDue(pool, {owner, limit: 2, leaseMs: MINUTE, now})))
        const ids = batches.flat().map((e) => e.id)
        if (ids.length === 0) break
        got.push(...ids)
      }
      return got
    }
    const [byA, byB] = await Promise.all([drain(a, 'node-a'), drain(b, 'node-b')])
    const all = [...byA, ...byB]
    expect(new Set(all).size).toBe(all.length) // nobody got an entry twice
    expect([...all].sort()).toEqual(ids)
    expect(byA.length).toBeGreaterThan(0)
    expect(byB.length).toBeGreaterThan(0)
    const {rows} = await a.query("SELECT lease_owner, count(*)::int AS n FROM queue WHERE state = 'sending' GROUP BY 1 ORDER BY 1")
    expect(rows).toEqual([
      {lease_owner: 'node-a', n: byA.length},
      {lease_owner: 'node-b', n: byB.length},
    ])
  })

  it("a dead node's claim is taken over after its lease runs out; its late outcome is refused, the new owner's is kept", async () => {
    const [a, b] = await twoNodes()
    await enqueue(a, [entry('q1', 'default', Date.now() - 1000)])
    // long enough that B's first look surely comes before it runs out, even on a loaded machine
    const LEASE_MS = 3000
    const claimedAt = Date.now()
    const [claimed] = await claimDue(a, {owner: 'node-a', limit: 1, leaseMs: LEASE_MS})
    expect(claimed?.id).toBe('q1')
    // node A now "dies": it neither renews nor finishes. While the lease holds, B gets nothing.
    expect(await claimDue(b, {owner: 'node-b', limit: 1, leaseMs: MINUTE})).toEqual([])
    // once it has run out (by the database's clock), B's claim takes the entry over
    let takenOver: QueueEntry[] = []
    for (let i = 0; i < 200 && takenOver.length === 0; i++) {
      await sleep(100)
      takenOver = await claimDue(b, {owner: 'node-b', limit: 1, leaseMs: MINUTE})
    }
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(LEASE_MS) // not before the lease ran out
    expect(takenOver.map((e) => [e.id, e.state, e.attempts])).toEqual([['q1', 'sending', 2]])
    expect((await getQueueEntry(a, 'q1'))?.leaseOwner).toBe('node-b')

    // A comes back (it was only slow): its renewal and its outcome are refused, B's stand
    expect(await renewLeases(a, 'node-a', ['q1'], MINUTE)).toEqual([])
    const recipients = claimed!.recipients.map((r) => ({...r, state: 'delivered' as const}))
    expect(await transaction(a, (c) => finishClaim(c, 'node-a', 'q1', {state: 'delivered', recipients}))).toBe(false)
    expect(await blobRefs(a, 'mail')).toBe(1)
    expect(await transaction(b, (c) => finishClaim(c, 'node-b', 'q1', {state: 'delivered', recipients}))).toBe(true)
    expect(await getQueueEntry(a, 'q1')).toMatchObject({state: 'delivered', recipients})
    // the finished entry released its blob and is never claimed again, whatever the leases
    expect(await blobRefs(a, 'mail')).toBe(0)
    expect(await claimDue(a, {owner: 'node-a', limit: 1, leaseMs: MINUTE, now: Date.now() + 365 * 24 * 60 * MINUTE})).toEqual([])
  })

  it('a renewed lease holds past its first expiry; a deferral is claimed again only when due', async () => {
    const [a, b] = await twoNodes()
    await enqueue(a, [entry('q1', 'default', Date.now() - 1000)])
    await claimDue(a, {owner: 'node-a', limit: 1, leaseMs: 2000})
    expect(await renewLeases(a, 'node-a', ['q1'], MINUTE)).toEqual(['q1'])
    await sleep(2500)
    expect(await claimDue(b, {owner: 'node-b', limit: 1, leaseMs: MINUTE})).toEqual([])

    const retryAt = Date.now() + 10 * MINUTE
    const deferred = {state: 'deferred' as const, recipients: [{address: 'q1@remote.test', state: 'deferred' as const}], nextAttemptAt: retryAt, lastError: '451 try later'}
    expect(await transaction(a, (c) => finishClaim(c, 'node-a', 'q1', deferred))).toBe(true)
    expect(await getQueueEntry(b, 'q1')).toMatchObject({state: 'deferred', nextAttemptAt: retryAt, lastError: '451 try later'})
    expect(await blobRefs(a, 'mail')).toBe(1) // still needed for the retry
    expect(await claimDue(b, {owner: 'node-b', limit: 1, leaseMs: MINUTE})).toEqual([])
    const [again] = await claimDue(b, {owner: 'node-b', limit: 1, leaseMs: MINUTE, now: retryAt})
    expect(again).toMatchObject({id: 'q1', state: 'sending', attempts: 2})
  })
})
