/**
 * The contract of `store.learn` (src/store/backend.ts), one body for every backend: a test file
 * calls `learnContract(name, open)` with a function opening a fresh, empty store of its kind. It
 * uses nothing but the interface: jobs are bounded, claimed in due order under a lease, retried,
 * removed, and survive a reopen (durable).
 */
import {describe, expect, it} from 'vitest'
import type {LearnStore} from '../../src/store/backend.js'

export interface OpenedLearnBackend {
  backend: {learn: LearnStore}
  /** a second handle on the same store, opened after the first's writes committed */
  reopen(): Promise<{learn: LearnStore; close(): Promise<void>}>
  close(): Promise<void>
}

const T = Date.UTC(2026, 0, 1)
const job = (n: number, kind: 'spam' | 'ham' = 'spam') => ({user: `u${n}@example.com`, blobId: `blob${n}`, kind})

export function learnContract(name: string, open: () => Promise<OpenedLearnBackend>): void {
  const withStore = (title: string, body: (learn: LearnStore, opened: OpenedLearnBackend) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.learn, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.learn on ${name}`, () => {
    withStore('enqueued jobs are durable: another handle on the store sees them, due now, unattempted', async (learn, opened) => {
      const added = await learn.enqueue([job(1), job(2, 'ham')], T, 100)
      expect(added.map((j) => [j.user, j.blobId, j.kind, j.attempts, j.dueAt, j.createdAt])).toEqual([
        ['u1@example.com', 'blob1', 'spam', 0, T, T],
        ['u2@example.com', 'blob2', 'ham', 0, T, T],
      ])
      const other = await opened.reopen()
      try {
        expect(await other.learn.jobs()).toEqual(added)
        expect(await other.learn.count()).toBe(2)
        expect(await other.learn.nextDue()).toBe(T)
      } finally {
        await other.close()
      }
    })

    withStore('the queue is bounded: past maxQueued jobs in all, new ones are refused, not stored', async (learn) => {
      expect(await learn.enqueue([job(1), job(2)], T, 3)).toHaveLength(2)
      const added = await learn.enqueue([job(3), job(4), job(5)], T, 3)
      expect(added.map((j) => j.blobId)).toEqual(['blob3'])
      expect(await learn.count()).toBe(3)
      expect(await learn.enqueue([job(6)], T, 3)).toEqual([])
    })

    withStore('a claim takes due jobs oldest due first, up to its limit, and leases them: not taken again until the lease runs out', async (learn) => {
      await learn.enqueue([job(1)], T, 100)
      await learn.enqueue([job(2)], T + 10, 100)
      await learn.enqueue([job(3)], T + 20, 100)
      expect(await learn.claim(T - 1, 10, 1000)).toEqual([])
      const first = await learn.claim(T + 15, 1, 1000)
      expect(first.map((j) => j.blobId)).toEqual(['blob1'])
      // blob2 is due, blob1 leased until T + 1015
      expect((await learn.claim(T + 15, 10, 1000)).map((j) => j.blobId)).toEqual(['blob2'])
      expect(await learn.claim(T + 15, 10, 1000)).toEqual([])
      // due order: blob3 (T + 20), then the leased two whose leases ran out at T + 1015
      expect((await learn.claim(T + 1015, 10, 1000)).map((j) => j.blobId)).toEqual(['blob3', 'blob1', 'blob2'])
      expect(await learn.count()).toBe(3)
    })

    withStore('a retry counts the attempt, records the error and makes the job due later; remove ends it', async (learn) => {
      const [added] = await learn.enqueue([job(1)], T, 100)
      const [claimed] = await learn.claim(T, 10, 60_000)
      expect(claimed!.id).toBe(added!.id)
      expect(await learn.retry(added!.id, T + 5000, 'connect ECONNREFUSED')).toBe(true)
      expect(await learn.nextDue()).toBe(T + 5000)
      expect(await learn.claim(T + 4999, 10, 1000)).toEqual([])
      const [again] = await learn.claim(T + 5000, 10, 1000)
      expect(again).toMatchObject({id: added!.id, attempts: 1, lastError: 'connect ECONNREFUSED'})
      expect(await learn.remove(added!.id)).toBe(true)
      expect(await learn.remove(added!.id)).toBe(false)
      expect(await learn.retry(added!.id, T, 'x')).toBe(false)
      expect(await learn.count()).toBe(0)
      expect(await learn.nextDue()).toBeUndefined()
      expect(await learn.claim(T + 1e9, 10, 1000)).toEqual([])
    })
  })
}
