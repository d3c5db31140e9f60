/**
 * The contract of `store.mtaSts` (src/store/backend.ts), one body for every backend:
 * test/unit/store-mta-sts.test.ts (LMDB) and test/unit/pg-mta-sts.test.ts (PostgreSQL) call
 * `mtaStsContract(name, open)` with a function that opens a fresh, empty store.
 */
import {describe, expect, it} from 'vitest'
import type {CachedStsPolicy, MtaStsStore} from '../../src/store/backend.js'

export interface OpenedMtaSts {
  backend: {mtaSts: MtaStsStore}
  /** another independent handle on the same store (another process or node) */
  reopen(): Promise<{mtaSts: MtaStsStore; close(): Promise<void>}>
  close(): Promise<void>
}

const policy = (domain: string, id: string, fetchedAt: number, expiresAt: number): CachedStsPolicy => ({
  domain,
  id,
  text: `version: STSv1\r\nmode: enforce\r\nmx: mx.${domain}\r\nmax_age: 86400\r\n`,
  fetchedAt,
  expiresAt,
})

export function mtaStsContract(name: string, open: () => Promise<OpenedMtaSts>): void {
  const withStore = (title: string, body: (s: MtaStsStore, opened: OpenedMtaSts) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.mtaSts, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.mtaSts on ${name}`, () => {
    withStore('a policy put is read back whole, by this handle and another', async (s, opened) => {
      expect(await s.get('example.org')).toBeUndefined()
      const kept = policy('example.org', '20261205T000000', 1_000, 1_000 + 86_400_000)
      await s.put(kept)
      expect(await s.get('example.org')).toEqual(kept)
      expect(await s.get('example.net')).toBeUndefined()
      const other = await opened.reopen()
      try {
        expect(await other.mtaSts.get('example.org')).toEqual(kept)
      } finally {
        await other.close()
      }
    })

    withStore('a put replaces the domain\'s policy (a new id, a new fetch)', async (s) => {
      await s.put(policy('example.org', 'one', 1_000, 2_000))
      const newer = {...policy('example.org', 'two', 5_000, 90_000), text: 'version: STSv1\r\nmode: testing\r\nmx: *.example.org\r\nmax_age: 85\r\n'}
      await s.put(newer)
      expect(await s.get('example.org')).toEqual(newer)
    })

    withStore('a purge removes the expired policies alone, in bounded commits', async (s) => {
      for (let i = 0; i < 5; i++) await s.put(policy(`old${i}.example`, 'a', 0, 1_000 + i))
      await s.put(policy('live.example', 'b', 0, 10_000))
      expect(await s.purge(5_000, 2)).toBe(5)
      expect(await s.get('old0.example')).toBeUndefined()
      expect(await s.get('old4.example')).toBeUndefined()
      expect(await s.get('live.example')).toMatchObject({id: 'b'})
      expect(await s.purge(5_000)).toBe(0)
      expect(await s.purge(10_000)).toBe(1)
    })
  })
}
