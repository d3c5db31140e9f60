/**
 * The contract of `store.auth` (src/store/backend.ts), as one test body that runs against any
 * backend: a test file calls `authContract(name, open)` with a function that opens a fresh, empty
 * store of its kind (LMDB in a temp dir; PostgreSQL in a fresh schema). It uses nothing but the
 * interface: familiar addresses are remembered, looked up, aged, bounded per user and forgotten
 * alike on every backend, and the directory forgets them with the user or the old password.
 */
import {describe, expect, it} from 'vitest'
import type {AuthStore, DirectoryStore, NewDomain} from '../../src/store/backend.js'
import {REFRESH_MS} from '../../src/store/familiar-addresses.js'

export interface AuthBackend {
  auth: AuthStore
  directory: DirectoryStore
}

export interface OpenedAuthBackend {
  backend: AuthBackend
  /** a second, independent handle on the same store (another process or node would have one) */
  reopen(): Promise<{auth: AuthStore; close(): Promise<void>}>
  close(): Promise<void>
}

const DAY = 24 * 3600_000
const T = Date.UTC(2026, 0, 1)
const policy = {maxAgeMs: 30 * DAY, maxPerUser: 3}
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo'
const domain = (name: string): NewDomain => ({
  record: {name, createdAt: T},
  keys: [{domain: name, selector: 'a-ed25519', algorithm: 'ed25519', privateKey: 'private', publicKey: 'public', state: 'active', createdAt: T}],
})

/** which of `networks` are familiar for `user` at `now` (with a year's age, so only the stored records decide) */
export const familiarOf = async (auth: AuthStore, user: string, networks: string[], now: number): Promise<string[]> => {
  const found = await Promise.all(networks.map((n) => auth.lastLoginFrom(user, n, now, 365 * DAY)))
  return networks.filter((_, i) => found[i] !== undefined)
}

export function authContract(name: string, open: () => Promise<OpenedAuthBackend>): void {
  const withStore = (title: string, body: (backend: AuthBackend, opened: OpenedAuthBackend) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.auth on ${name}`, () => {
    withStore('a remembered login is familiar for maxAgeMs, then not; only for that user and network', async ({auth}) => {
      await auth.rememberLogin('a@x.test', '192.0.2.1', T, policy)
      expect(await auth.lastLoginFrom('a@x.test', '192.0.2.1', T + 30 * DAY - 1, policy.maxAgeMs)).toBe(T)
      expect(await auth.lastLoginFrom('a@x.test', '192.0.2.1', T + 30 * DAY, policy.maxAgeMs)).toBeUndefined()
      expect(await auth.lastLoginFrom('a@x.test', '192.0.2.2', T, policy.maxAgeMs)).toBeUndefined()
      expect(await auth.lastLoginFrom('b@x.test', '192.0.2.1', T, policy.maxAgeMs)).toBeUndefined()
    })

    withStore('a resolved remember is committed: a second handle on the store sees it', async ({auth}, opened) => {
      await auth.rememberLogin('a@x.test', '2001:db8:1:2::/64', T, policy)
      const other = await opened.reopen()
      try {
        expect(await other.auth.lastLoginFrom('a@x.test', '2001:db8:1:2::/64', T, policy.maxAgeMs)).toBe(T)
      } finally {
        await other.close()
      }
    })

    withStore('a login soon after the last one is not written again; a day later it is (sooner for a short maxAgeMs)', async ({auth}) => {
      await auth.rememberLogin('c@x.test', '192.0.2.1', T, policy)
      await auth.rememberLogin('c@x.test', '192.0.2.1', T + REFRESH_MS - 1, policy)
      expect(await auth.lastLoginFrom('c@x.test', '192.0.2.1', T, policy.maxAgeMs)).toBe(T)
      await auth.rememberLogin('c@x.test', '192.0.2.1', T + REFRESH_MS, policy)
      expect(await auth.lastLoginFrom('c@x.test', '192.0.2.1', T + REFRESH_MS, policy.maxAgeMs)).toBe(T + REFRESH_MS)
      // familiar for an hour: refreshed every tenth of it, so it cannot lapse while in use
      const hourly = {maxAgeMs: 3600_000, maxPerUser: 3}
      await auth.rememberLogin('c@x.test', '192.0.2.9', T, hourly)
      await auth.rememberLogin('c@x.test', '192.0.2.9', T + 359_999, hourly)
      expect(await auth.lastLoginFrom('c@x.test', '192.0.2.9', T, hourly.maxAgeMs)).toBe(T)
      await auth.rememberLogin('c@x.test', '192.0.2.9', T + 360_000, hourly)
      expect(await auth.lastLoginFrom('c@x.test', '192.0.2.9', T + 360_000, hourly.maxAgeMs)).toBe(T + 360_000)
    })

    withStore('keeps at most maxPerUser per user, the most recent, and drops expired ones on the next write', async ({auth}) => {
      const networks = [1, 2, 3, 4, 5].map((i) => `10.0.0.${i}`)
      await auth.rememberLogin('a@x.test', '192.0.2.1', T, policy)
      for (let i = 1; i <= 4; i++) await auth.rememberLogin('d@x.test', `10.0.0.${i}`, T + i * 1000, policy)
      expect(await familiarOf(auth, 'd@x.test', networks, T + 10_000)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4'])
      await auth.rememberLogin('d@x.test', '10.0.0.5', T + 30 * DAY + 2500, policy) // 2 is older than 30 days by now
      expect(await familiarOf(auth, 'd@x.test', networks, T + 30 * DAY + 2500)).toEqual(['10.0.0.3', '10.0.0.4', '10.0.0.5'])
      // another user's records are untouched, even expired ones (they go when that user's are written)
      expect(await auth.lastLoginFrom('a@x.test', '192.0.2.1', T, policy.maxAgeMs)).toBe(T)
      // maxPerUser 0 keeps nothing
      await auth.rememberLogin('g@x.test', '10.0.0.1', T, {...policy, maxPerUser: 0})
      expect(await familiarOf(auth, 'g@x.test', networks, T)).toEqual([])
    })

    withStore('forgetLogins drops one user’s records and no one else’s', async ({auth}) => {
      await auth.rememberLogin('e@x.test', '10.1.0.1', T, policy)
      await auth.rememberLogin('e@x.test', '10.1.0.2', T, policy)
      await auth.rememberLogin('h@x.test', '10.1.0.1', T, policy)
      await auth.forgetLogins('e@x.test')
      expect(await familiarOf(auth, 'e@x.test', ['10.1.0.1', '10.1.0.2'], T)).toEqual([])
      expect(await familiarOf(auth, 'h@x.test', ['10.1.0.1'], T)).toEqual(['10.1.0.1'])
    })

    withStore('the directory forgets a user’s familiar addresses with a new password or the user, not with other changes', async ({auth, directory}) => {
      await directory.addDomain(domain('example.org'))
      for (const address of ['f@example.org', 'k@example.org']) {
        await directory.addUser({address, passwordHash: HASH})
        await auth.rememberLogin(address, '10.2.0.1', T, policy)
      }
      await directory.updateUser('f@example.org', {quota: 1000, disabled: true, passwordHash: HASH})
      expect(await familiarOf(auth, 'f@example.org', ['10.2.0.1'], T)).toEqual(['10.2.0.1'])
      await directory.updateUser('f@example.org', {passwordHash: HASH.replace('aGFzaGhhc2hoYXNo', 'bmV3bmV3bmV3bmV3')})
      expect(await familiarOf(auth, 'f@example.org', ['10.2.0.1'], T)).toEqual([])
      await directory.removeUser('k@example.org')
      expect(await familiarOf(auth, 'k@example.org', ['10.2.0.1'], T)).toEqual([])
    })
  })
}
