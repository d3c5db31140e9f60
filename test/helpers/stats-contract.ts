/**
 * The contract of `store.stats()` and `store.observeCommits()` (src/store/backend.ts), one body
 * for every backend: a test file calls `statsContract(name, open)` with a function that opens a
 * fresh, empty store of its kind. Stats: a size on disk (and on LMDB its free pages); commits:
 * a server write path's commit is reported once with its latency, a removed observer hears nothing.
 */
import {describe, expect, it} from 'vitest'
import type {MailboxStore} from '../../src/store/backend.js'

export interface OpenedStore {
  backend: MailboxStore
  close(): Promise<void>
}

export function statsContract(name: string, open: () => Promise<OpenedStore>): void {
  const withStore = (title: string, body: (store: MailboxStore) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend)
      } finally {
        await opened.close()
      }
    })

  describe(`store.stats and store.observeCommits on ${name}`, () => {
    withStore('stats report the size on disk (LMDB: and its free pages)', async (store) => {
      const stats = await store.stats()
      expect(stats.sizeBytes).toBeGreaterThan(0)
      if (store.kind === 'lmdb') {
        expect(stats.pageSize).toBe(4096)
        expect(stats.freePages).toBeGreaterThanOrEqual(0)
      } else {
        expect(stats.freePages).toBeUndefined()
      }
    })

    withStore('each commit of a server write is reported with its latency, until the observer is removed', async (store) => {
      const seen: {seconds: number; failed?: Error}[] = []
      await store.capture.addRule({to: 'bob@x.test', reply: '451 4.3.0 later', remaining: 2})
      const remove = store.observeCommits((seconds, failed) => seen.push({seconds, ...(failed ? {failed} : {})}))
      expect(await store.capture.takeFault('rcpt', ['bob@x.test'])).toBeDefined()
      expect(seen).toHaveLength(1)
      expect(seen[0]!.seconds).toBeGreaterThanOrEqual(0)
      expect(seen[0]!.seconds).toBeLessThan(60)
      expect(seen[0]!.failed).toBeUndefined()
      remove()
      expect(await store.capture.takeFault('rcpt', ['bob@x.test'])).toBeDefined()
      expect(seen).toHaveLength(1)
    })
  })
}
