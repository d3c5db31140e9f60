/**
 * The contract of `store.settings` (src/store/backend.ts), one body for every backend:
 * test/unit/store-settings.test.ts (LMDB) and test/unit/pg-settings.test.ts (PostgreSQL) call
 * `settingsContract(name, open)` with a function that opens a fresh, empty store.
 */
import {describe, expect, it} from 'vitest'
import type {SettingsStore} from '../../src/store/backend.js'

export interface OpenedSettings {
  backend: {settings: SettingsStore}
  /** another independent handle on the same store (another process or node) */
  reopen(): Promise<{settings: SettingsStore; close(): Promise<void>}>
  close(): Promise<void>
}

export function settingsContract(name: string, open: () => Promise<OpenedSettings>): void {
  const withStore = (title: string, body: (s: SettingsStore, opened: OpenedSettings) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.settings, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.settings on ${name}`, () => {
    withStore('a secret is 32 random bytes, made once: asked again (and through another handle) it is the same', async (s, opened) => {
      const first = await s.secret('srs')
      expect(first).toBeInstanceOf(Buffer)
      expect(first).toHaveLength(32)
      expect(first.equals(Buffer.alloc(32))).toBe(false)
      expect((await s.secret('srs')).equals(first)).toBe(true)
      const other = await opened.reopen()
      try {
        expect((await other.settings.secret('srs')).equals(first)).toBe(true)
      } finally {
        await other.close()
      }
    })

    withStore('each name has its own secret', async (s) => {
      const a = await s.secret('srs')
      const b = await s.secret('other')
      expect(a.equals(b)).toBe(false)
      expect((await s.secret('srs')).equals(a)).toBe(true)
    })

    withStore('two handles asking at once for a secret not made yet agree on one', async (s, opened) => {
      const others = [await opened.reopen(), await opened.reopen()]
      try {
        const got = await Promise.all([s, ...others.map((o) => o.settings)].flatMap((h) => [h.secret('srs'), h.secret('srs')]))
        for (const g of got) expect(g.equals(got[0]!)).toBe(true)
      } finally {
        for (const o of others) await o.close()
      }
    })
  })
}
