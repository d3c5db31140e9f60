/** The queue's admin helpers on a real store: id abbreviations, the qshape summary, fail with its bounce. */
import {describe, expect, it} from 'vitest'
import {enqueueInTxn} from '../../src/store/lmdb-enqueue.js'
import {failEntry} from '../../src/queue/fail.js'
import {findEntry, updateEntry} from '../../src/store/lmdb-queue.js'
import {queueShape} from '../../src/queue/summary.js'
import type {QueueEntry} from '../../src/store/records.js'
import {tempStore} from '../helpers/store.js'

function queueOn(store: ReturnType<typeof tempStore>, recipient: string, change: Partial<QueueEntry> = {}, from = 'a@example.com'): QueueEntry {
  return store.transact(() => {
    const blobId = `blob-${recipient}-${Math.random()}`
    store.blobs.putSync(blobId, Buffer.from('Subject: original\r\n\r\nx\r\n'))
    store.blobInfo.putSync(blobId, {refs: 1, size: 16, createdAt: Date.now()})
    const [entry] = enqueueInTxn(store, {from, recipients: [recipient], blobId})
    return updateEntry(store, entry!, change)
  })
}

describe('findEntry', () => {
  const store = tempStore()
  const a = queueOn(store, 'x@one.test')
  // ids are time-ordered, then a counter: b made in a later millisecond than a differs from it
  // before its last character (in the same one, a.id...c and b.id...d share all but it)
  for (const t = Date.now(); Date.now() === t; );
  const b = queueOn(store, 'y@two.test')

  it('takes the full id, a unique prefix or a unique suffix', () => {
    expect(findEntry(store, a.id).id).toBe(a.id)
    expect(findEntry(store, a.id.slice(-10)).id).toBe(a.id)
    expect(findEntry(store, b.id.slice(-2)).id).toBe(b.id)
    expect(findEntry(store, b.id.slice(0, -1)).id).toBe(b.id)
  })

  it('refuses an abbreviation several ids share, naming them', () => {
    expect(() => findEntry(store, a.id.slice(0, 5))).toThrow(`queue id ${a.id.slice(0, 5)} is ambiguous: it matches ${a.id}, ${b.id}; give more of it`)
    expect(() => findEntry(store, 'nope')).toThrow('no queue entry nope')
    expect(() => findEntry(store, '')).toThrow('give a queue entry id')
  })

  it('lists at most ten candidates', () => {
    const many = tempStore()
    const ids = Array.from({length: 12}, (_, i) => queueOn(many, `r${i}@many.test`).id)
    expect(() => findEntry(many, ids[0]!.slice(0, 3))).toThrow(/ and 2 more; give more of it$/)
  })
})

describe('queueShape', () => {
  it('counts waiting entries by domain in doubling age buckets, not held or final ones', async () => {
    const store = tempStore()
    const now = Date.now()
    const minutes = (m: number) => now - m * 60_000
    queueOn(store, 'a@big.test', {createdAt: minutes(1)})
    queueOn(store, 'b@big.test', {createdAt: minutes(7), state: 'deferred'})
    queueOn(store, 'c@big.test', {createdAt: minutes(100), state: 'sending'})
    queueOn(store, 'd@big.test', {createdAt: minutes(5000), state: 'deferred'})
    queueOn(store, 'e@small.test', {createdAt: minutes(639), state: 'deferred'})
    queueOn(store, 'f@small.test', {createdAt: minutes(1), state: 'held'})
    queueOn(store, 'g@small.test', {createdAt: minutes(1), state: 'failed'})
    const shape = await queueShape(store.queue, now)
    expect(shape.total).toEqual({domain: 'TOTAL', total: 5, ages: [1, 1, 0, 0, 0, 1, 0, 1, 0, 1]})
    expect(shape.domains).toEqual([
      {domain: 'big.test', total: 4, ages: [1, 1, 0, 0, 0, 1, 0, 0, 0, 1]},
      {domain: 'small.test', total: 1, ages: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]},
    ])
  })
})

describe('failEntry', () => {
  it('fails the open recipients, bounces to the sender with the original header, and keeps the bounce first', async () => {
    const store = tempStore()
    const entry = queueOn(store, 'x@far.test', {state: 'deferred'})
    const bounces: {to: string; dsn: string; stateMeanwhile: string}[] = []
    const result = await failEntry(store.queue, entry.id.slice(-6), {
      hostname: 'mx.test',
      inject: async (to, dsn) => void bounces.push({to, dsn: dsn.toString('latin1'), stateMeanwhile: store.queueEntries.get(entry.id)!.state}),
    })
    expect(result).toMatchObject({recipients: ['x@far.test'], bouncedTo: 'a@example.com', entry: {id: entry.id, state: 'failed', lastError: 'failed by the administrator'}})
    expect(bounces).toHaveLength(1)
    expect(bounces[0]!.stateMeanwhile).toBe('held') // no sender can claim it while the bounce is made
    expect(bounces[0]!.dsn).toContain('<x@far.test>: failed by the administrator')
    expect(bounces[0]!.dsn).toContain('Subject: original')
    await expect(failEntry(store.queue, entry.id, {hostname: 'h', inject: async () => {}})).rejects.toThrow(`cannot fail entry ${entry.id}: it is failed`)
  })

  it('a null sender gets no bounce; a bounce that cannot be delivered is reported and the entry fails anyway', async () => {
    const store = tempStore()
    const bounce = queueOn(store, 'x@far.test', {}, '')
    const silent = await failEntry(store.queue, bounce.id, {hostname: 'h', inject: async () => expect.fail('no bounce for a bounce')})
    expect(silent.bouncedTo).toBeUndefined()
    expect(silent.entry.state).toBe('failed')
    const other = queueOn(store, 'y@far.test')
    const refused = await failEntry(store.queue, other.id, {hostname: 'h', inject: async () => Promise.reject(new Error('no such user a@example.com'))})
    expect(refused).toMatchObject({bounceError: 'no such user a@example.com', entry: {state: 'failed'}})
  })
})
