import {describe, expect, it, vi} from 'vitest'
import {enqueueInTxn} from '../../src/store/lmdb-enqueue.js'
import {BULK_BATCH, attemptsOf, dueIterator, getEntry, listEntries, logAttempt, updateEntry} from '../../src/store/lmdb-queue.js'
import type {QueueEntry} from '../../src/store/records.js'
import {tempStore} from '../helpers/store.js'

const store = tempStore()

function queue(recipient: string, priority: QueueEntry['priority'] = 'default'): QueueEntry {
  return store.transact(() => {
    store.blobs.putSync(`blob-${recipient}`, Buffer.from('Subject: x\r\n\r\nx\r\n'))
    store.blobInfo.putSync(`blob-${recipient}`, {refs: 0, size: 16, createdAt: Date.now()})
    const [entry] = enqueueInTxn(store, {from: 'a@example.com', recipients: [recipient], blobId: `blob-${recipient}`, priority})
    store.blobInfo.putSync(`blob-${recipient}`, {refs: 1, size: 16, createdAt: Date.now()})
    return entry!
  })
}

describe('queue ops', () => {
  it('dueIterator: high priority first, then by due time; future entries are not due', () => {
    const now = Date.now()
    const bulk = queue('b1@bulk.test', 'bulk')
    const normal = queue('d1@default.test')
    const high = queue('h1@high.test', 'high')
    const later = queue('l1@later.test', 'high')
    store.transact(() => updateEntry(store, getEntry(store, later.id), {nextAttemptAt: now + 3600_000}))
    const ids = [...dueIterator(store, now + 1000)].slice(0, 10).map((e) => e.id)
    expect(ids).toEqual([high.id, normal.id, bulk.id])
    expect([...dueIterator(store, now + 1000)].slice(0, 2).map((e) => e.id)).toEqual([high.id, normal.id])
  })

  it('purgeFinished removes delivered and failed entries finished before the cut-off, with their attempt logs', async () => {
    const old = queue('old@done.test')
    const recent = queue('recent@done.test')
    const waiting = queue('waiting@done.test')
    const now = Date.now()
    store.transact(() => {
      updateEntry(store, getEntry(store, old.id), {state: 'delivered', nextAttemptAt: now - 10 * 86400_000})
      logAttempt(store, {queueId: old.id, attempt: 1, startedAt: 0, endedAt: 0, host: 'h', result: 'delivered', transcript: []})
      updateEntry(store, getEntry(store, recent.id), {state: 'failed', nextAttemptAt: now - 1000})
      updateEntry(store, getEntry(store, waiting.id), {state: 'deferred', nextAttemptAt: now - 10 * 86400_000})
    })
    expect(await store.queue.purgeFinished(now - 7 * 86400_000, 10_000)).toBe(1)
    expect(store.queueEntries.get(old.id)).toBeUndefined()
    expect(attemptsOf(store, old.id)).toEqual([])
    expect(store.queueEntries.get(recent.id)?.state).toBe('failed')
    expect(store.queueEntries.get(waiting.id)?.state).toBe('deferred')
    expect(listEntries(store, 'delivered').map((e) => e.id)).not.toContain(old.id)
  })

  it('a purge step reads no more index keys than it removes, however many younger finished entries are kept', async () => {
    const now = Date.now()
    const finished = store.transact(() => {
      const made: QueueEntry[] = []
      for (let i = 0; i < 2_003; i++) {
        const blobId = `kept-${i}`
        store.blobs.putSync(blobId, Buffer.from('Subject: x\r\n\r\nx\r\n'))
        store.blobInfo.putSync(blobId, {refs: 1, size: 16, createdAt: now})
        const [entry] = enqueueInTxn(store, {from: 'a@example.com', recipients: [`r${i}@kept.test`], blobId, priority: (['high', 'default', 'bulk'] as const)[i % 3]})
        // three finished long ago, the rest just now
        made.push(updateEntry(store, entry!, {state: i % 2 ? 'delivered' : 'failed', nextAttemptAt: i < 3 ? now - 10 * 86400_000 : now}))
      }
      return made
    })
    const getKeys = store.queueIndex.getKeys.bind(store.queueIndex)
    let looked = 0
    const spy = vi.spyOn(store.queueIndex, 'getKeys').mockImplementation(((options?: Parameters<typeof getKeys>[0]) => {
      const keys = [...getKeys(options)]
      looked += keys.length
      return keys
    }) as unknown as typeof getKeys)
    try {
      expect(await store.queue.purgeFinished(now - 7 * 86400_000, BULK_BATCH)).toBe(3)
      expect(looked).toBe(3)
      looked = 0
      expect(await store.queue.purgeFinished(now - 7 * 86400_000, BULK_BATCH)).toBe(0)
      expect(looked).toBe(0)
    } finally {
      spy.mockRestore()
    }
    expect(store.queueEntries.get(finished[0]!.id)).toBeUndefined()
    expect(store.queueEntries.get(finished[3]!.id)).toBeDefined()
  })

  it('flush and retry of a long queue: every entry changed, in commits of at most BULK_BATCH entries', async () => {
    const later = Date.now() + 3600_000
    const n = BULK_BATCH * 2 + 37
    const ids = store.transact(() => {
      const made: string[] = []
      for (let i = 0; i < n; i++) {
        const blobId = `bulk-${i}`
        store.blobs.putSync(blobId, Buffer.from('Subject: x\r\n\r\nx\r\n'))
        store.blobInfo.putSync(blobId, {refs: 1, size: 16, createdAt: Date.now()})
        const [entry] = enqueueInTxn(store, {from: 'a@example.com', recipients: [`r${i}@${i % 3 ? 'far' : 'near'}.test`], blobId})
        // two of three deferred an hour ahead, one of three queued an hour ahead
        made.push(updateEntry(store, entry!, i % 3 === 2 ? {nextAttemptAt: later} : {state: 'deferred', nextAttemptAt: later}).id)
      }
      return made
    })
    const commits = vi.spyOn(store, 'transactAsync')
    try {
      const near = await store.queue.flush('near.test')
      const nearIds = ids.filter((_, i) => i % 3 === 0)
      expect(near.map((e) => e.id).sort()).toEqual([...nearIds].sort())
      for (const id of nearIds) expect(getEntry(store, id)).toMatchObject({state: 'queued'})
      expect(getEntry(store, ids[1]!).state).toBe('deferred') // far.test: untouched
      expect(commits.mock.calls.length).toBeGreaterThanOrEqual(Math.ceil((n * 2) / 3 / BULK_BATCH)) // the deferred range, in steps
      commits.mockClear()
      const all = await store.queue.retryAll()
      for (const id of ids) expect(getEntry(store, id).nextAttemptAt).toBeLessThanOrEqual(Date.now())
      for (const id of ids) expect(getEntry(store, id).state).toBe('queued')
      // each entry changed once, whatever range it moved into
      expect(all.filter((e) => ids.includes(e.id))).toHaveLength(n)
      expect(new Set(all.map((e) => e.id)).size).toBe(all.length)
      expect(commits.mock.calls.length).toBeGreaterThanOrEqual(Math.ceil(all.length / BULK_BATCH) + 1) // two ranges, in steps
    } finally {
      commits.mockRestore()
    }
  })
})
