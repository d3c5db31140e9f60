import {describe, expect, it} from 'vitest'
import {enqueueInTxn} from '../../src/queue/entries.js'
import {attemptsOf, dueEntries, getEntry, listEntries, logAttempt, purgeFinished, updateEntry} from '../../src/queue/ops.js'
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
  it('dueEntries: high priority first, then by due time; future entries are not due', () => {
    const now = Date.now()
    const bulk = queue('b1@bulk.test', 'bulk')
    const normal = queue('d1@default.test')
    const high = queue('h1@high.test', 'high')
    const later = queue('l1@later.test', 'high')
    store.transact(() => updateEntry(store, getEntry(store, later.id), {nextAttemptAt: now + 3600_000}))
    const ids = dueEntries(store, now + 1000, 10).map((e) => e.id)
    expect(ids).toEqual([high.id, normal.id, bulk.id])
    expect(dueEntries(store, now + 1000, 2).map((e) => e.id)).toEqual([high.id, normal.id])
  })

  it('purgeFinished removes delivered and failed entries finished before the cut-off, with their attempt logs', () => {
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
    expect(purgeFinished(store, now - 7 * 86400_000)).toBe(1)
    expect(store.queue.get(old.id)).toBeUndefined()
    expect(attemptsOf(store, old.id)).toEqual([])
    expect(store.queue.get(recent.id)?.state).toBe('failed')
    expect(store.queue.get(waiting.id)?.state).toBe('deferred')
    expect(listEntries(store, 'delivered').map((e) => e.id)).not.toContain(old.id)
  })
})
