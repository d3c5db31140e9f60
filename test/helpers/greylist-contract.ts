/**
 * The contract of `store.greylist` (src/store/backend.ts, rules in src/store/greylist-rules.ts),
 * as one test body run against any backend: test/unit/store-greylist.test.ts (LMDB) and
 * test/unit/pg-greylist.test.ts (PostgreSQL) call `greylistContract(name, open)` with a function
 * that opens a fresh, empty store. Times are given, so nothing here waits.
 */
import {describe, expect, it} from 'vitest'
import type {GreylistStore} from '../../src/store/backend.js'
import type {GreylistPolicy} from '../../src/store/greylist-rules.js'

export interface OpenedGreylist {
  backend: {greylist: GreylistStore}
  /** a second, independent handle on the same store (another process or node would have one) */
  reopen(): Promise<{greylist: GreylistStore; close(): Promise<void>}>
  close(): Promise<void>
}

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
export const POLICY: GreylistPolicy = {delayMs: 5 * MIN, retryWindowMs: 4 * HOUR, passTtlMs: 36 * DAY, maxEntries: 1000}
const T0 = 1_800_000_000_000
const bob = {network: '192.0.2.0/24', sender: 'amy@sender.test', recipient: 'bob@x.test'}

export function greylistContract(name: string, open: () => Promise<OpenedGreylist>): void {
  const withStore = (title: string, body: (g: GreylistStore, opened: OpenedGreylist) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.greylist, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.greylist on ${name}`, () => {
    withStore('a first sighting waits the whole delay; a retry before the delay waits what is left', async (g) => {
      expect(await g.check(bob, T0, POLICY)).toEqual({action: 'wait', retryInMs: 5 * MIN, first: true})
      expect(await g.check(bob, T0 + MIN, POLICY)).toEqual({action: 'wait', retryInMs: 4 * MIN, first: false})
      expect(await g.check(bob, T0 + 5 * MIN - 1, POLICY)).toEqual({action: 'wait', retryInMs: 1, first: false})
      expect(await g.stats()).toEqual({entries: 1, passed: 0, networks: 0})
      // another sender, recipient or network is another triplet
      for (const other of [{...bob, sender: 'eve@sender.test'}, {...bob, recipient: 'carol@x.test'}, {...bob, network: '198.51.100.0/24'}]) {
        expect(await g.check(other, T0 + MIN, POLICY)).toMatchObject({action: 'wait', first: true})
      }
      expect((await g.stats()).entries).toBe(4)
    })

    withStore('a retry after the delay passes, and the pass is committed: a second handle sees it', async (g, opened) => {
      await g.check(bob, T0, POLICY)
      expect(await g.check(bob, T0 + 5 * MIN, POLICY)).toEqual({action: 'pass', reason: 'retried'})
      expect(await g.check(bob, T0 + 6 * MIN, POLICY)).toEqual({action: 'pass', reason: 'passed'})
      const other = await opened.reopen()
      try {
        expect(await other.greylist.check(bob, T0 + 7 * MIN, POLICY)).toEqual({action: 'pass', reason: 'passed'})
        expect(await other.greylist.stats()).toEqual({entries: 1, passed: 1, networks: 1})
      } finally {
        await other.close()
      }
    })

    withStore('a retry after the retry window is a new first sighting', async (g) => {
      await g.check(bob, T0, POLICY)
      await g.check(bob, T0 + MIN, POLICY)
      expect(await g.check(bob, T0 + 4 * HOUR + 1, POLICY)).toEqual({action: 'wait', retryInMs: 5 * MIN, first: true})
      expect(await g.check(bob, T0 + 4 * HOUR + 5 * MIN + 1, POLICY)).toEqual({action: 'pass', reason: 'retried'})
      expect((await g.stats()).entries).toBe(1)
    })

    withStore('a pass lasts passTtlMs from the last sighting, each pass refreshing it', async (g) => {
      await g.check(bob, T0, POLICY)
      await g.check(bob, T0 + 5 * MIN, POLICY)
      const ttl = POLICY.passTtlMs
      expect(await g.check(bob, T0 + 5 * MIN + ttl, POLICY)).toEqual({action: 'pass', reason: 'passed'})
      expect(await g.check(bob, T0 + 5 * MIN + 2 * ttl, POLICY)).toEqual({action: 'pass', reason: 'passed'})
      expect(await g.check(bob, T0 + 5 * MIN + 3 * ttl + 1, POLICY)).toEqual({action: 'wait', retryInMs: 5 * MIN, first: true})
    })

    withStore('a pass within refreshMs of the recorded sighting is not written: the TTL counts from the recorded one', async (g) => {
      await g.check(bob, T0, POLICY)
      await g.check(bob, T0 + 5 * MIN, POLICY)
      // 30 minutes later: passes from the read alone (refreshMs is an hour here)
      expect(await g.check(bob, T0 + 35 * MIN, POLICY)).toEqual({action: 'pass', reason: 'passed'})
      // so the pass expires passTtlMs after the pass at T0 + 5 min, not after T0 + 35 min
      expect(await g.check(bob, T0 + 5 * MIN + POLICY.passTtlMs + MIN, POLICY)).toMatchObject({action: 'wait', first: true})
    })

    withStore('the null sender passes from a network that passed a triplet, and is greylisted from any other', async (g) => {
      const bounce = {...bob, sender: ''}
      expect(await g.check(bounce, T0, POLICY)).toMatchObject({action: 'wait', first: true})
      await g.check(bob, T0, POLICY)
      await g.check(bob, T0 + 5 * MIN, POLICY)
      const otherRecipient = {...bounce, recipient: 'carol@x.test'}
      expect(await g.check(otherRecipient, T0 + 6 * MIN, POLICY)).toEqual({action: 'pass', reason: 'network'})
      expect(await g.check({...otherRecipient, network: '198.51.100.0/24'}, T0 + 6 * MIN, POLICY)).toMatchObject({action: 'wait', first: true})
      // the network pass expires with passTtlMs too
      expect(await g.check(otherRecipient, T0 + 5 * MIN + POLICY.passTtlMs + 1, POLICY)).toMatchObject({action: 'wait', first: true})
    })

    withStore('purge removes expired entries and network passes, and keeps live ones', async (g) => {
      const waiting = {...bob, sender: 'w@sender.test'}
      const passed = {...bob, sender: 'p@sender.test', network: '203.0.113.0/24'}
      await g.check(waiting, T0, POLICY)
      await g.check(passed, T0, POLICY)
      await g.check(passed, T0 + 5 * MIN, POLICY)
      expect(await g.purge(T0 + HOUR, POLICY)).toBe(0)
      expect(await g.stats()).toEqual({entries: 2, passed: 1, networks: 1})
      // the waiting one is past its window; the pass is live
      expect(await g.purge(T0 + 4 * HOUR + 1, POLICY)).toBe(1)
      expect(await g.stats()).toEqual({entries: 1, passed: 1, networks: 1})
      // the pass and its network are past the TTL; small batches still take them all
      expect(await g.purge(T0 + 5 * MIN + POLICY.passTtlMs + 1, POLICY, 1)).toBe(2)
      expect(await g.stats()).toEqual({entries: 0, passed: 0, networks: 0})
    })

    withStore('past maxEntries a new triplet passes unrecorded; known ones go on; a purge makes room again', async (g) => {
      const policy = {...POLICY, maxEntries: 3}
      const triplet = (i: number) => ({...bob, sender: `s${i}@sender.test`})
      for (let i = 0; i < 3; i++) expect(await g.check(triplet(i), T0, policy)).toMatchObject({action: 'wait', first: true})
      expect(await g.check(triplet(3), T0, policy)).toEqual({action: 'pass', reason: 'full'})
      expect(await g.check(triplet(4), T0, policy)).toEqual({action: 'pass', reason: 'full'})
      expect((await g.stats()).entries).toBe(3)
      expect(await g.check(triplet(0), T0 + 5 * MIN, policy)).toEqual({action: 'pass', reason: 'retried'})
      // the two still waiting expire; the new one is recorded again
      expect(await g.purge(T0 + 4 * HOUR + 1, policy)).toBe(2)
      expect(await g.check(triplet(3), T0 + 4 * HOUR + 2, policy)).toMatchObject({action: 'wait', first: true})
      expect((await g.stats()).entries).toBe(2)
    })

    withStore('concurrent sightings of one new triplet: one first sighting, each counted, one entry', async (g, opened) => {
      const other = await opened.reopen()
      try {
        const verdicts = await Promise.all(Array.from({length: 12}, (_, i) => (i % 2 ? other.greylist : g).check(bob, T0 + i, POLICY)))
        expect(verdicts.filter((v) => v.action === 'wait' && v.first)).toHaveLength(1)
        expect(verdicts.every((v) => v.action === 'wait')).toBe(true)
        expect(await g.stats()).toEqual({entries: 1, passed: 0, networks: 0})
      } finally {
        await other.close()
      }
    })
  })
}
