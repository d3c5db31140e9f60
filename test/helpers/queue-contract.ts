/**
 * The contract of `store.queue` (src/store/backend.ts), as one test body that runs against any
 * backend: a test file calls `queueContract(name, open)` with a function that opens a fresh,
 * empty store of its kind (LMDB in a temp dir; PostgreSQL in a fresh schema) and can put entries
 * in (what `mail.deliver` does: a blob holding one reference per entry). It uses nothing else but
 * the interface: the due order and bounded scans, compare-and-set claims, outcomes with their
 * attempt log and blob release, the administrator's changes and their refusals, `queue fail`'s
 * two steps, recovery of claims nobody holds, purging, counts.
 */
import {describe, expect, it} from 'vitest'
import type {DueScan, QueueStore} from '../../src/store/backend.js'
import type {DeliveryAttemptRecord, QueueEntry, QueuePriority} from '../../src/store/records.js'
import {codeOfAsync} from './errors.js'

export interface OpenedQueue {
  queue: QueueStore
  /** puts `entries` in, with a blob `blobId` holding one reference per entry not final */
  enqueue(entries: QueueEntry[], blobId?: string): Promise<void>
  /** the blob's references (0 when it is gone) */
  blobRefs(blobId: string): Promise<number>
  close(): Promise<void>
}

const MINUTE = 60_000
const LEASE = MINUTE

export function queueEntry(id: string, change: Partial<QueueEntry> = {}): QueueEntry {
  const at = change.nextAttemptAt ?? Date.now() - 1000
  return {
    id,
    from: 'a@x.test',
    domain: 'remote.test',
    recipients: [{address: `${id}@remote.test`, state: 'pending'}],
    blobId: 'mail',
    priority: 'default',
    state: 'queued',
    attempts: 0,
    createdAt: at,
    nextAttemptAt: at,
    ...change,
  }
}

const attempt = (e: QueueEntry, result: DeliveryAttemptRecord['result']): DeliveryAttemptRecord => ({
  queueId: e.id,
  attempt: e.attempts,
  startedAt: 1000,
  endedAt: 2000,
  host: 'mx.remote.test',
  result,
  transcript: ['> EHLO', '< 250 ok'],
})

/** what `due` hands out for `scan`, by id */
async function dueIds(queue: QueueStore, now: number, scan: DueScan = {}, stopAfter = Infinity): Promise<string[]> {
  const ids: string[] = []
  await queue.due(now, scan, (e) => ids.push(e.id) < stopAfter)
  return ids
}

export function queueContract(name: string, open: () => Promise<OpenedQueue>): void {
  const withStore = (title: string, body: (q: QueueStore, opened: OpenedQueue) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.queue, opened)
      } finally {
        await opened.close()
      }
    }, 30_000)

  describe(`store.queue on ${name}`, () => {
    withStore('due entries in order (priority, then due time); bounded scans go on where they stopped; skipped ones are passed over', async (q, o) => {
      const now = Date.now()
      const at = (p: QueuePriority, ago: number, more: Partial<QueueEntry> = {}) => ({priority: p, nextAttemptAt: now - ago, ...more})
      await o.enqueue([
        queueEntry('bulk-early', at('bulk', 3 * MINUTE)),
        queueEntry('default-late', at('default', MINUTE)),
        queueEntry('default-early', at('default', 2 * MINUTE, {state: 'deferred'})),
        queueEntry('high', at('high', 1000)),
        queueEntry('future', at('high', -10 * MINUTE)),
        queueEntry('held', at('high', MINUTE, {state: 'held'})),
        queueEntry('done', at('high', MINUTE, {state: 'delivered'})),
      ])
      expect(await dueIds(q, now)).toEqual(['high', 'default-early', 'default-late', 'bulk-early'])
      expect(await dueIds(q, now, {}, 2)).toEqual(['high', 'default-early']) // visit stops the scan
      expect(await dueIds(q, now, {skip: (id) => id.startsWith('default')})).toEqual(['high', 'bulk-early'])
      // two looks of two: the second goes on after the first; the third finds the end
      const first: NonNullable<DueScan['progress']> = {ended: false}
      expect(await dueIds(q, now, {maxKeys: 2, progress: first})).toEqual(['high', 'default-early'])
      expect(first.ended).toBe(false)
      const second: NonNullable<DueScan['progress']> = {ended: false}
      expect(await dueIds(q, now, {maxKeys: 2, after: first.last!, progress: second})).toEqual(['default-late', 'bulk-early'])
      const third: NonNullable<DueScan['progress']> = {ended: false}
      expect(await dueIds(q, now, {maxKeys: 2, after: second.last!, progress: third})).toEqual([])
      expect(third.ended).toBe(true)
      expect(await q.nextDue()).toBe(now - 3 * MINUTE)
      expect(await q.counts()).toEqual({queued: 4, sending: 0, deferred: 1, held: 1, delivered: 1, failed: 0})
      expect((await q.entries()).map((e) => e.id)).toEqual(['high', 'future', 'default-late', 'bulk-early', 'default-early', 'held', 'done'])
      expect((await q.entries('queued')).map((e) => e.id)).toEqual(['high', 'future', 'default-late', 'bulk-early'])
    })

    withStore('a claim makes a due entry sending (attempts + 1) once; not due, held or claimed: undefined', async (q, o) => {
      const now = Date.now()
      await o.enqueue([queueEntry('a'), queueEntry('later', {nextAttemptAt: now + MINUTE}), queueEntry('held', {state: 'held'})])
      const claimed = await q.claim('a', now, LEASE)
      expect(claimed).toMatchObject({id: 'a', state: 'sending', attempts: 1})
      expect(await q.claim('a', now, LEASE)).toBeUndefined()
      expect(await q.claim('later', now, LEASE)).toBeUndefined()
      expect(await q.claim('held', now, LEASE)).toBeUndefined()
      expect(await q.claim('nothing', now, LEASE)).toBeUndefined()
      expect(await dueIds(q, now)).toEqual([])
      expect(await q.entry('a')).toEqual(claimed)
      expect(await q.renewLeases(['a'], LEASE)).toEqual(['a'])
    })

    withStore('an outcome: deferred keeps the blob and is due again later; delivered releases it; each attempt is logged', async (q, o) => {
      await o.enqueue([queueEntry('a'), queueEntry('b')])
      const a = (await q.claim('a', Date.now(), LEASE))!
      const retryAt = Date.now() + 10 * MINUTE
      const deferred = await q.finish('a', {recipients: [{address: 'a@remote.test', state: 'deferred', lastError: '451 later'}], state: 'deferred', nextAttemptAt: retryAt, lastError: '451 later', attempt: attempt(a, 'deferred')})
      expect(deferred).toMatchObject({state: 'deferred', nextAttemptAt: retryAt, lastError: '451 later', attempts: 1})
      expect(await o.blobRefs('mail')).toBe(2)
      expect(await q.claim('a', Date.now(), LEASE)).toBeUndefined()
      const again = (await q.claim('a', retryAt, LEASE))!
      expect(again.attempts).toBe(2)
      const done = await q.finish('a', {recipients: [{address: 'a@remote.test', state: 'delivered'}], state: 'delivered', nextAttemptAt: 5000, attempt: attempt(again, 'delivered')})
      expect(done).toMatchObject({state: 'delivered', nextAttemptAt: 5000})
      expect(done).not.toHaveProperty('lastError')
      expect(await o.blobRefs('mail')).toBe(1)
      expect((await q.attempts('a')).map((r) => [r.attempt, r.result, r.host, r.transcript])).toEqual([
        [1, 'deferred', 'mx.remote.test', ['> EHLO', '< 250 ok']],
        [2, 'delivered', 'mx.remote.test', ['> EHLO', '< 250 ok']],
      ])
      // an entry deleted meanwhile: nothing to record
      await q.delete('b')
      expect(await q.finish('b', {recipients: [], state: 'delivered', nextAttemptAt: 1, attempt: attempt(queueEntry('b'), 'delivered')})).toBeUndefined()
      expect(await o.blobRefs('mail')).toBe(0)
    })

    withStore('an id is found whole, by a unique prefix or suffix; an ambiguous or unknown one is refused', async (q, o) => {
      await o.enqueue([queueEntry('0abc111'), queueEntry('0abc222'), queueEntry('9xyz333')])
      expect((await q.find('0abc111')).id).toBe('0abc111')
      expect((await q.find('9X')).id).toBe('9xyz333')
      expect((await q.find('222')).id).toBe('0abc222')
      expect(await codeOfAsync(q.find('0abc'))).toBe('conflict')
      await expect(q.find('0abc')).rejects.toThrow('queue id 0abc is ambiguous: it matches 0abc111, 0abc222; give more of it')
      expect(await codeOfAsync(q.find('nope'))).toBe('not-found')
      expect(await codeOfAsync(q.find('  '))).toBe('invalid')
    })

    withStore("the administrator's changes keep their rules: hold, release, retry, delete", async (q, o) => {
      await o.enqueue([queueEntry('a', {nextAttemptAt: Date.now() + MINUTE}), queueEntry('b'), queueEntry('c', {state: 'delivered'})])
      expect(await q.hold('a')).toMatchObject({state: 'held'})
      expect(await codeOfAsync(q.hold('a'))).toBe('conflict')
      expect(await codeOfAsync(q.retry('a'))).toBe('conflict')
      const released = await q.release('a')
      expect(released.state).toBe('queued')
      expect(released.nextAttemptAt).toBeLessThanOrEqual(Date.now())
      expect(await codeOfAsync(q.release('a'))).toBe('conflict')
      await q.claim('b', Date.now(), LEASE)
      await expect(q.delete('b')).rejects.toThrow('is being sent right now')
      expect(await codeOfAsync(q.hold('b'))).toBe('conflict')
      expect(await o.blobRefs('mail')).toBe(2)
      expect((await q.delete('a')).id).toBe('a')
      expect(await o.blobRefs('mail')).toBe(1)
      await q.delete('c') // final: it held no reference any more
      expect(await o.blobRefs('mail')).toBe(1)
      expect(await q.entry('a')).toBeUndefined()
      expect(await codeOfAsync(q.delete('a'))).toBe('not-found')
    })

    withStore('flush makes deferred entries (of one domain) due now; retry of all also queued ones', async (q, o) => {
      const later = Date.now() + 10 * MINUTE
      await o.enqueue([
        queueEntry('near-1', {state: 'deferred', domain: 'near.test', nextAttemptAt: later}),
        queueEntry('far-1', {state: 'deferred', domain: 'far.test', nextAttemptAt: later}),
        queueEntry('far-2', {domain: 'far.test', nextAttemptAt: later}),
        queueEntry('held', {state: 'held', nextAttemptAt: later}),
      ])
      expect((await q.flush(' Near.Test ')).map((e) => e.id)).toEqual(['near-1'])
      expect((await q.flush()).map((e) => e.id)).toEqual(['far-1'])
      expect((await q.retryAll()).map((e) => e.id).sort()).toEqual(['far-1', 'far-2', 'near-1'])
      expect((await dueIds(q, Date.now())).sort()).toEqual(['far-1', 'far-2', 'near-1'])
      expect((await q.entry('held'))?.state).toBe('held')
    })

    withStore("`queue fail`'s steps: held first, then final with the blob released", async (q, o) => {
      await o.enqueue([queueEntry('a', {state: 'deferred'}), queueEntry('b')])
      expect(await q.failBegin('a')).toMatchObject({id: 'a', state: 'held'})
      const failed = await q.failEnd('a', (e) => ({state: 'failed', nextAttemptAt: 7, lastError: 'given up', recipients: e.recipients.map((r) => ({...r, state: 'failed' as const}))}))
      expect(failed).toMatchObject({state: 'failed', nextAttemptAt: 7, lastError: 'given up', recipients: [{address: 'a@remote.test', state: 'failed'}]})
      expect(await o.blobRefs('mail')).toBe(1)
      expect(await codeOfAsync(q.failBegin('a'))).toBe('conflict')
      await q.claim('b', Date.now(), LEASE)
      expect(await codeOfAsync(q.failBegin('b'))).toBe('conflict')
      expect(await codeOfAsync(q.failEnd('gone', () => ({})))).toBe('not-found')
    })

    withStore('claims nobody holds any more are due again at recovery; purging takes finished entries past a time, a batch at most', async (q, o) => {
      await o.enqueue([queueEntry('a'), queueEntry('old-1', {state: 'delivered', nextAttemptAt: 1000}), queueEntry('old-2', {state: 'failed', nextAttemptAt: 2000}), queueEntry('new', {state: 'failed', nextAttemptAt: Date.now()})])
      await q.finish('old-1', {recipients: [], state: 'delivered', nextAttemptAt: 1000, attempt: attempt(queueEntry('old-1'), 'delivered')})
      await q.claim('a', Date.now(), LEASE)
      const now = Date.now()
      expect(await q.recoverExpired(now)).toBe(1)
      expect(await q.entry('a')).toMatchObject({state: 'queued', nextAttemptAt: now, attempts: 1})
      expect(await q.purgeFinished(now - MINUTE, 1)).toBe(1)
      expect(await q.purgeFinished(now - MINUTE, 10)).toBe(1)
      expect(await q.purgeFinished(now - MINUTE, 10)).toBe(0)
      expect((await q.entries()).map((e) => e.id)).toEqual(['a', 'new'])
      expect(await q.attempts('old-1')).toEqual([])
    })

    withStore('retention: finished entries of every priority past the cut-off go in batches with their delivery logs; younger and unfinished ones stay with theirs', async (q, o) => {
      const now = Date.now()
      const priorities: QueuePriority[] = ['high', 'default', 'bulk']
      const old = Array.from({length: 120}, (_, i) => queueEntry(`old-${i}`, {priority: priorities[i % 3]!}))
      const young = Array.from({length: 5}, (_, i) => queueEntry(`young-${i}`, {priority: priorities[i % 3]!}))
      await o.enqueue([...old, ...young, queueEntry('waiting', {state: 'deferred', nextAttemptAt: now - 30 * MINUTE})])
      // each finished as the foreman finishes one: claimed, then its outcome with its attempt
      const finishAt = async (e: QueueEntry, at: number, state: 'delivered' | 'failed') => {
        const claimed = (await q.claim(e.id, now, LEASE))!
        expect(await q.finish(e.id, {recipients: claimed.recipients, state, nextAttemptAt: at, attempt: attempt(claimed, state)})).toMatchObject({state})
      }
      for (const [i, e] of old.entries()) await finishAt(e, now - 10 * MINUTE - i, i % 2 ? 'delivered' : 'failed')
      for (const e of young) await finishAt(e, now, 'delivered')
      expect(await q.attempts('old-7')).toHaveLength(1)
      expect(await o.blobRefs('mail')).toBe(1) // only the waiting entry holds the message now

      const steps: number[] = []
      for (let step = -1; step !== 0; ) steps.push((step = await q.purgeFinished(now - 5 * MINUTE, 50)))
      expect(steps).toEqual([50, 50, 20, 0])
      for (const e of old) expect(await q.entry(e.id)).toBeUndefined()
      for (const e of old.slice(0, 10)) expect(await q.attempts(e.id)).toEqual([])
      for (const e of young) expect(await q.attempts(e.id)).toHaveLength(1)
      expect((await q.entries()).map((e) => e.id).sort()).toEqual([...young.map((e) => e.id), 'waiting'].sort())
      expect(await o.blobRefs('mail')).toBe(1)
    })
  })
}
