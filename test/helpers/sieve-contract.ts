/**
 * The contract of `store.sieve` (src/store/backend.ts, rules in src/store/sieve-rules.ts), as one
 * test body run against any backend: test/unit/store-sieve.test.ts (LMDB) and
 * test/unit/pg-sieve.test.ts (PostgreSQL) call `sieveContract(name, open)` with a function that
 * opens a fresh store holding the users of `USERS`. Times are given, so nothing here waits
 * (except for a change notification, which PostgreSQL delivers from another connection).
 */
import {describe, expect, it} from 'vitest'
import {isMailboxError} from '../../src/errors.js'
import type {MailboxStore, SieveQuota, SieveStore, StoreChange} from '../../src/store/backend.js'
import {until} from './until.js'

export interface OpenedSieve {
  /** a store with a domain `x.test` and the users amy@x.test and bob@x.test */
  backend: MailboxStore
  /** a second, independent handle on the same store (another process or node would have one) */
  reopen(): Promise<{sieve: SieveStore; close(): Promise<void>}>
  /** resolves once the change feed hears changes (PostgreSQL: its listen connection is up) */
  changesReady(): Promise<void>
  close(): Promise<void>
}

export const SIEVE_USERS = ['amy@x.test', 'bob@x.test']

/** the domain and users every test of the contract starts with (no DKIM keys, no password: nothing here needs them) */
export async function addSieveUsers(store: MailboxStore): Promise<void> {
  await store.directory.addDomain({record: {name: 'x.test', createdAt: Date.now()}, keys: []})
  for (const address of SIEVE_USERS) await store.directory.addUser({address, passwordHash: ''})
}
const AMY = 'amy@x.test'
const BOB = 'bob@x.test'
const QUOTA: SieveQuota = {maxScripts: 3, maxScriptBytes: 100}
const T0 = 1_800_000_000_000
const DAY = 24 * 3600_000

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
  } catch (err) {
    if (isMailboxError(err)) return err.code
    throw err
  }
  return 'ok'
}

export function sieveContract(name: string, open: () => Promise<OpenedSieve>): void {
  const withStore = (title: string, body: (s: SieveStore, opened: OpenedSieve) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.sieve, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.sieve on ${name}`, () => {
    withStore('put, list (by name, sizes in UTF-8 bytes), get; none active until one is activated', async (s) => {
      const put = await s.put(AMY, 'work', 'keep; # ä', QUOTA)
      expect(put).toMatchObject({name: 'work', active: false, size: 10})
      expect(put.updatedAt).toBeGreaterThan(0)
      await s.put(AMY, 'Lists', 'discard;', QUOTA)
      await s.put(BOB, 'bob', 'keep;', QUOTA)
      expect((await s.list(AMY)).map(({name, active, size}) => ({name, active, size}))).toEqual([
        {name: 'Lists', active: false, size: 8},
        {name: 'work', active: false, size: 10},
      ])
      expect(await s.get(AMY, 'work')).toEqual({name: 'work', content: 'keep; # ä', active: false})
      expect(await s.get(AMY, 'bob')).toBeUndefined()
      expect(await s.get('carol@x.test', 'work')).toBeUndefined()
      expect(await s.list('carol@x.test')).toEqual([])
      expect(await s.active(AMY)).toBeUndefined()
    })

    withStore('names are NFC (RFC 5804 §1.6): a name sent in NFD is the same script as in NFC', async (s) => {
      const nfd = 'cafe\u0301'
      const nfc = 'caf\u00e9'
      expect((await s.put(AMY, nfd, 'keep;', QUOTA)).name).toBe(nfc)
      await s.put(AMY, nfc, 'discard;', QUOTA)
      expect((await s.list(AMY)).map((i) => i.name)).toEqual([nfc])
      await s.activate(AMY, nfd)
      expect(await s.get(AMY, nfd)).toEqual({name: nfc, content: 'discard;', active: true})
      await s.rename(AMY, nfd, 'r\u00e9sum\u00e9'.normalize('NFD'))
      expect((await s.list(AMY)).map((i) => i.name)).toEqual(['r\u00e9sum\u00e9'])
      await s.activate(AMY, null)
      await s.remove(AMY, 'r\u00e9sum\u00e9'.normalize('NFD'))
      expect(await s.list(AMY)).toEqual([])
    })

    withStore('names: empty, over 128 characters, control characters and / are invalid; an unknown user is not-found', async (s) => {
      for (const bad of ['', 'x'.repeat(129), 'a\nb', 'tab\there', 'del\u007f', 'c1\u0085', 'a/b', 'ls\u2028']) {
        expect(await codeOf(s.put(AMY, bad, 'keep;', QUOTA)), JSON.stringify(bad)).toBe('invalid')
      }
      expect(await codeOf(s.put(AMY, 'é'.repeat(128), 'keep;', QUOTA))).toBe('ok')
      expect(await codeOf(s.put(AMY, 'with space & ümlaut', 'keep;', QUOTA))).toBe('ok')
      expect(await codeOf(s.put('carol@x.test', 'x', 'keep;', QUOTA))).toBe('not-found')
      await s.put(AMY, 'ok', 'keep;', {maxScripts: 10, maxScriptBytes: 100})
      expect(await codeOf(s.rename(AMY, 'ok', 'bad/name'))).toBe('invalid')
    })

    withStore('quota: one script more than maxScripts, or a text over maxScriptBytes; replacing at the limit is fine', async (s) => {
      for (const n of ['a', 'b', 'c']) await s.put(AMY, n, 'keep;', QUOTA)
      expect(await codeOf(s.put(AMY, 'd', 'keep;', QUOTA))).toBe('quota')
      expect(await codeOf(s.put(AMY, 'c', '#'.repeat(100), QUOTA))).toBe('ok')
      expect(await codeOf(s.put(AMY, 'c', '#'.repeat(101), QUOTA))).toBe('quota')
      expect(await codeOf(s.put(AMY, 'c', 'ä'.repeat(51), QUOTA))).toBe('quota') // 102 bytes, 51 characters
      expect((await s.get(AMY, 'c'))?.content).toBe('#'.repeat(100))
      // another user's scripts are not counted
      expect(await codeOf(s.put(BOB, 'a', 'keep;', QUOTA))).toBe('ok')
      await s.remove(AMY, 'a')
      expect(await codeOf(s.put(AMY, 'd', 'keep;', QUOTA))).toBe('ok')
    })

    withStore('one active at a time; null deactivates; activating a missing script is not-found', async (s) => {
      await s.put(AMY, 'a', 'keep;', QUOTA)
      await s.put(AMY, 'b', 'discard;', QUOTA)
      await s.activate(AMY, 'a')
      expect(await s.active(AMY)).toEqual({name: 'a', content: 'keep;', active: true})
      await s.activate(AMY, 'b')
      expect(await s.active(AMY)).toEqual({name: 'b', content: 'discard;', active: true})
      expect((await s.list(AMY)).map((i) => [i.name, i.active])).toEqual([
        ['a', false],
        ['b', true],
      ])
      expect((await s.get(AMY, 'b'))?.active).toBe(true)
      expect(await codeOf(s.activate(AMY, 'nope'))).toBe('not-found')
      expect((await s.active(AMY))?.name).toBe('b')
      await s.activate(AMY, 'b') // again: no change
      expect((await s.active(AMY))?.name).toBe('b')
      await s.activate(AMY, null)
      expect(await s.active(AMY)).toBeUndefined()
      expect((await s.list(AMY)).some((i) => i.active)).toBe(false)
      await s.activate(AMY, null) // none active: fine
      expect(await s.active(BOB)).toBeUndefined()
    })

    withStore('a put replaces the text and keeps the active state', async (s) => {
      await s.put(AMY, 'a', 'keep;', QUOTA)
      await s.activate(AMY, 'a')
      expect(await s.put(AMY, 'a', 'discard;', QUOTA)).toMatchObject({name: 'a', active: true, size: 8})
      expect(await s.active(AMY)).toEqual({name: 'a', content: 'discard;', active: true})
    })

    withStore('rename keeps the active state; to a taken name is exists, from a missing one not-found', async (s) => {
      await s.put(AMY, 'a', 'keep;', QUOTA)
      await s.put(AMY, 'b', 'discard;', QUOTA)
      await s.activate(AMY, 'a')
      await s.rename(AMY, 'a', 'renamed')
      expect(await s.active(AMY)).toEqual({name: 'renamed', content: 'keep;', active: true})
      expect((await s.list(AMY)).map((i) => i.name)).toEqual(['b', 'renamed'])
      expect(await codeOf(s.rename(AMY, 'renamed', 'b'))).toBe('exists')
      expect(await codeOf(s.rename(AMY, 'a', 'c'))).toBe('not-found')
      await s.rename(AMY, 'b', 'c')
      expect(await s.get(AMY, 'c')).toEqual({name: 'c', content: 'discard;', active: false})
      expect((await s.active(AMY))?.name).toBe('renamed')
    })

    withStore('removing the active script is a conflict; another goes; a missing one is not-found', async (s) => {
      await s.put(AMY, 'a', 'keep;', QUOTA)
      await s.put(AMY, 'b', 'keep;', QUOTA)
      await s.activate(AMY, 'a')
      expect(await codeOf(s.remove(AMY, 'a'))).toBe('conflict')
      await s.remove(AMY, 'b')
      expect(await codeOf(s.remove(AMY, 'b'))).toBe('not-found')
      await s.activate(AMY, null)
      await s.remove(AMY, 'a')
      expect(await s.list(AMY)).toEqual([])
    })

    withStore('each change is announced as sieve with its user, after the commit; a second handle reads it', async (s, opened) => {
      await opened.changesReady()
      const heard: StoreChange[] = []
      const off = opened.backend.changes.on((change) => {
        if (change.kind === 'sieve') heard.push(change)
      })
      try {
        await s.put(AMY, 'a', 'keep;', QUOTA)
        await until(() => heard.length >= 1)
        await s.activate(AMY, 'a')
        await s.rename(AMY, 'a', 'b')
        await s.put(BOB, 'x', 'keep;', QUOTA)
        await s.remove(BOB, 'x')
        await until(() => heard.length >= 5)
        expect(heard).toEqual([
          {kind: 'sieve', user: AMY},
          {kind: 'sieve', user: AMY},
          {kind: 'sieve', user: AMY},
          {kind: 'sieve', user: BOB},
          {kind: 'sieve', user: BOB},
        ])
      } finally {
        off()
      }
      const other = await opened.reopen()
      try {
        expect(await other.sieve.active(AMY)).toEqual({name: 'b', content: 'keep;', active: true})
      } finally {
        await other.close()
      }
    })

    withStore('a vacation reply is claimed once per period: twice is false, after the period true again', async (s) => {
      expect(await s.claimVacationReply(AMY, 'h1', T0, 7 * DAY)).toBe(true)
      expect(await s.claimVacationReply(AMY, 'h1', T0 + 1, 7 * DAY)).toBe(false)
      expect(await s.claimVacationReply(AMY, 'h1', T0 + 7 * DAY - 1, 7 * DAY)).toBe(false)
      // another sender (hash) or another user is another record
      expect(await s.claimVacationReply(AMY, 'h2', T0 + 1, 7 * DAY)).toBe(true)
      expect(await s.claimVacationReply(BOB, 'h1', T0 + 1, 7 * DAY)).toBe(true)
      expect(await s.claimVacationReply(AMY, 'h1', T0 + 7 * DAY, DAY)).toBe(true)
      expect(await s.claimVacationReply(AMY, 'h1', T0 + 8 * DAY - 1, DAY)).toBe(false)
    })

    withStore('ten claims at once, and ten more from two handles: exactly one of each is true', async (s, opened) => {
      const once = await Promise.all(Array.from({length: 10}, () => s.claimVacationReply(AMY, 'race', T0, DAY)))
      expect(once.filter(Boolean)).toHaveLength(1)
      const other = await opened.reopen()
      try {
        const handles = [s, other.sieve]
        const twice = await Promise.all(Array.from({length: 10}, (_, i) => handles[i % 2]!.claimVacationReply(BOB, 'race', T0, DAY)))
        expect(twice.filter(Boolean)).toHaveLength(1)
      } finally {
        await other.close()
      }
    })

    withStore('purge removes the records past their period, in commits of at most limit, and keeps the others', async (s) => {
      for (let i = 0; i < 7; i++) await s.claimVacationReply(AMY, `old${i}`, T0, DAY)
      await s.claimVacationReply(BOB, 'live', T0, 3 * DAY)
      expect(await s.purgeVacationReplies(T0 + DAY - 1)).toBe(0)
      expect(await s.purgeVacationReplies(T0 + DAY, 3)).toBe(7)
      expect(await s.purgeVacationReplies(T0 + DAY, 3)).toBe(0)
      // a purged record claims again; the live one still refuses
      expect(await s.claimVacationReply(AMY, 'old0', T0 + DAY, DAY)).toBe(true)
      expect(await s.claimVacationReply(BOB, 'live', T0 + DAY, DAY)).toBe(false)
    })

    withStore('removing a user removes their scripts and vacation records; removing a domain with force too', async (s, opened) => {
      const {directory} = opened.backend
      await s.put(AMY, 'a', 'keep;', QUOTA)
      await s.activate(AMY, 'a')
      await s.claimVacationReply(AMY, 'h', T0, DAY)
      await s.put(BOB, 'b', 'keep;', QUOTA)
      await s.activate(BOB, 'b')
      await s.claimVacationReply(BOB, 'h', T0, DAY)
      const user = (await directory.user(AMY))!
      await directory.removeUser(AMY)
      expect(await s.list(AMY)).toEqual([])
      expect(await s.active(AMY)).toBeUndefined()
      expect(await codeOf(s.put(AMY, 'a', 'keep;', QUOTA))).toBe('not-found')
      // the same address made again starts with nothing
      await directory.addUser({address: AMY, passwordHash: user.passwordHash})
      expect(await s.list(AMY)).toEqual([])
      expect(await s.claimVacationReply(AMY, 'h', T0 + 1, DAY)).toBe(true)
      // bob's are untouched, until his domain goes
      expect((await s.active(BOB))?.name).toBe('b')
      expect(await s.claimVacationReply(BOB, 'h', T0 + 1, DAY)).toBe(false)
      await directory.removeDomain('x.test', {force: true})
      expect(await s.list(BOB)).toEqual([])
      expect(await s.active(BOB)).toBeUndefined()
      expect(await s.purgeVacationReplies(T0 + 10 * DAY)).toBe(0)
    })
  })
}
