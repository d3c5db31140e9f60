/**
 * The contract of `store.directory` and `store.dkim` (src/store/backend.ts), as one test body that
 * runs against any backend: a test file calls `directoryContract(name, open)` with a function that
 * opens a fresh, empty store of its kind (LMDB in a temp dir; PostgreSQL in a fresh database). It
 * uses nothing but the interface, so the same assertions hold every backend to the same rules:
 * refusals write nothing, rules are checked inside the write, a resolved write is visible to a
 * second handle on the same store (committed).
 */
import {describe, expect, it} from 'vitest'
import type {DirectoryStore, DkimStore, ImportedUser, NewDomain} from '../../src/store/backend.js'
import type {DkimKeyRecord} from '../../src/store/records.js'
import {codeOfAsync} from './errors.js'

export interface DirectoryBackend {
  directory: DirectoryStore
  dkim: DkimStore
}

export interface OpenedBackend {
  backend: DirectoryBackend
  /** a second, independent handle on the same store (another process or node would have one) */
  reopen(): Promise<DirectoryBackend & {close(): Promise<void>}>
  close(): Promise<void>
}

/** key records the store keeps as given (it never parses them): cheap to make, unlike real RSA keys */
const keysOf = (domain: string, at: number, tag = 'a'): DkimKeyRecord[] =>
  (['ed25519', 'rsa'] as const).map((algorithm) => ({domain, selector: `${tag}-${algorithm}`, algorithm, privateKey: `private ${tag}`, publicKey: `public ${tag}`, state: 'active', createdAt: at}))
const domain = (name: string, at = Date.now(), tag = 'a'): NewDomain => ({record: {name, createdAt: at}, keys: keysOf(name, at, tag)})
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo'

export function directoryContract(name: string, open: () => Promise<OpenedBackend>): void {
  /** each test on a fresh store with example.com */
  const withStore = (title: string, body: (d: DirectoryStore, k: DkimStore, opened: OpenedBackend) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await opened.backend.directory.addDomain(domain('example.com'))
        await body(opened.backend.directory, opened.backend.dkim, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.directory and store.dkim on ${name}`, () => {
    withStore('a domain is added with its DKIM keys; a second one of the same name is refused and changes nothing', async (d, k) => {
      expect(await d.isLocalDomain('example.com')).toBe(true)
      expect(await d.isLocalDomain('example.net')).toBe(false)
      expect((await k.keys('example.com')).map((key) => key.selector)).toEqual(['a-ed25519', 'a-rsa'])
      expect(await codeOfAsync(d.addDomain(domain('example.com', 1, 'b')))).toBe('exists')
      expect((await k.keys('example.com')).map((key) => key.selector)).toEqual(['a-ed25519', 'a-rsa'])
      await d.addDomain(domain('example.org'))
      expect((await d.domains()).map((x) => x.name).sort()).toEqual(['example.com', 'example.org'])
    })

    withStore('users: added in a local domain only, once, never over an alias; updated; counted', async (d) => {
      const user = await d.addUser({address: 'amy@example.com', passwordHash: HASH, quota: 1000})
      expect(user).toMatchObject({address: 'amy@example.com', passwordHash: HASH, quota: 1000, disabled: false})
      expect(await d.user('amy@example.com')).toEqual(user)
      expect(await codeOfAsync(d.addUser({address: 'amy@example.com', passwordHash: 'other'}))).toBe('exists')
      expect(await codeOfAsync(d.addUser({address: 'bob@example.net', passwordHash: HASH}))).toBe('not-found')
      await d.addAlias('sales@example.com', ['amy@example.com'])
      expect(await codeOfAsync(d.addUser({address: 'sales@example.com', passwordHash: HASH}))).toBe('exists')
      expect(await d.user('sales@example.com')).toBeUndefined()
      expect((await d.user('amy@example.com'))!.passwordHash).toBe(HASH)

      await new Promise((resolve) => setTimeout(resolve, 5))
      const updated = await d.updateUser('amy@example.com', {disabled: true, quota: 0})
      expect(updated).toMatchObject({disabled: true, quota: 0, passwordHash: HASH})
      expect(updated.updatedAt).toBeGreaterThan(user.updatedAt)
      expect(await d.user('amy@example.com')).toEqual(updated)
      expect(await codeOfAsync(d.updateUser('nobody@example.com', {disabled: true}))).toBe('not-found')
      expect((await d.users()).map((u) => u.address)).toEqual(['amy@example.com'])
      expect(await d.counts()).toEqual({domains: 1, users: 1, aliases: 1})
    })

    withStore('users: a message limit is kept, changed and cleared; unlimited is no field at all, on both backends', async (d) => {
      const user = await d.addUser({address: 'amy@example.com', passwordHash: HASH, quota: 1000, maxMessages: 50})
      expect(user).toMatchObject({quota: 1000, maxMessages: 50})
      expect(await d.user('amy@example.com')).toEqual(user)
      expect(await d.updateUser('amy@example.com', {disabled: true})).toMatchObject({maxMessages: 50, disabled: true})
      expect(await d.updateUser('amy@example.com', {maxMessages: 3})).toMatchObject({maxMessages: 3, quota: 1000})
      const cleared = await d.updateUser('amy@example.com', {maxMessages: 0})
      expect(cleared).not.toHaveProperty('maxMessages')
      expect(await d.user('amy@example.com')).toEqual(cleared)
      expect(await d.addUser({address: 'bob@example.com', passwordHash: HASH, maxMessages: 0})).not.toHaveProperty('maxMessages')
      expect((await d.users()).map((u) => [u.address, u.maxMessages])).toEqual([
        ['amy@example.com', undefined],
        ['bob@example.com', undefined],
      ])
    })

    withStore('aliases: a loop, a dangling target, a user’s address are refused and write nothing', async (d) => {
      await d.addUser({address: 'amy@example.com', passwordHash: HASH})
      await d.addAlias('a@example.com', ['b@example.org', 'amy@example.com'])
      expect(await codeOfAsync(d.addAlias('x@example.com', ['x@example.com']))).toBe('conflict')
      expect(await codeOfAsync(d.addAlias('b@example.com', ['c@example.com']))).toBe('not-found')
      expect(await codeOfAsync(d.addAlias('amy@example.com', ['a@example.com']))).toBe('exists')
      expect(await codeOfAsync(d.addAlias('a@example.com', ['amy@example.com']))).toBe('exists')
      expect(await codeOfAsync(d.addAlias('z@example.net', ['amy@example.com']))).toBe('not-found')
      // a catch-all that would reach itself through an unknown address of its domain
      expect(await codeOfAsync(d.addAlias('@example.com', ['q@example.com']))).toBe('conflict')
      expect((await d.aliases()).map((a) => a.alias)).toEqual(['a@example.com'])
      expect(await d.alias('a@example.com')).toMatchObject({alias: 'a@example.com', targets: ['b@example.org', 'amy@example.com']})
    })

    withStore('resolution: a user, then an alias, then the catch-all; remote addresses resolve to themselves', async (d) => {
      await d.addUser({address: 'amy@example.com', passwordHash: HASH})
      await d.addUser({address: 'bob@example.com', passwordHash: HASH})
      await d.addAlias('team@example.com', ['amy@example.com', 'bob@example.com', 'ext@example.org'])
      await d.addAlias('@example.com', ['bob@example.com'])
      expect(await d.resolve('amy@example.com')).toEqual({local: ['amy@example.com'], remote: []})
      expect(await d.resolve('team@example.com')).toEqual({local: ['amy@example.com', 'bob@example.com'], remote: ['ext@example.org']})
      expect(await d.resolve('anyone@example.com')).toEqual({local: ['bob@example.com'], remote: []})
      expect(await d.resolve('who@example.org')).toEqual({local: [], remote: ['who@example.org']})
      await d.removeAlias('@example.com')
      expect(await d.resolve('anyone@example.com')).toBeUndefined()
      expect(await codeOfAsync(d.removeAlias('@example.com'))).toBe('not-found')
    })

    withStore('removing a user drops them from alias targets; an alias left empty goes, and those pointing at it', async (d) => {
      await d.addUser({address: 'amy@example.com', passwordHash: HASH})
      await d.addUser({address: 'bob@example.com', passwordHash: HASH})
      await d.addAlias('pair@example.com', ['amy@example.com', 'bob@example.com'])
      await d.addAlias('solo@example.com', ['amy@example.com'])
      await d.addAlias('@example.com', ['solo@example.com'])
      const removed = await d.removeUser('amy@example.com')
      expect(removed.record.address).toBe('amy@example.com')
      expect(removed.usage.messages).toBe(0)
      expect(await d.user('amy@example.com')).toBeUndefined()
      expect((await d.alias('pair@example.com'))!.targets).toEqual(['bob@example.com'])
      expect(await d.alias('solo@example.com')).toBeUndefined()
      expect(await d.alias('@example.com')).toBeUndefined()
      expect(await codeOfAsync(d.removeUser('amy@example.com'))).toBe('not-found')
    })

    withStore('removing a domain: refused while it has users or aliases, unless forced; its keys go with it', async (d, k) => {
      await d.addUser({address: 'amy@example.com', passwordHash: HASH})
      await d.addAlias('info@example.com', ['amy@example.com'])
      expect(await codeOfAsync(d.removeDomain('example.com'))).toBe('conflict')
      expect(await d.user('amy@example.com')).toBeDefined()
      expect(await d.removeDomain('example.com', {force: true})).toEqual({users: ['amy@example.com'], aliases: ['info@example.com']})
      expect(await d.isLocalDomain('example.com')).toBe(false)
      expect(await d.users()).toEqual([])
      expect(await d.aliases()).toEqual([])
      expect(await k.keys('example.com')).toEqual([])
      expect(await codeOfAsync(d.removeDomain('example.com'))).toBe('not-found')
    })

    withStore('import: the plan sees the directory inside the write; a plan that throws writes nothing', async (d) => {
      await d.addUser({address: 'amy@example.com', passwordHash: HASH, quota: 5})
      const batch: ImportedUser[] = [
        {address: 'amy@example.com', exists: true, disabled: true, aliases: ['ames@example.com']},
        {address: 'bob@example.com', exists: false, passwordHash: HASH, quota: 7, maxMessages: 9, aliases: []},
      ]
      await expect(
        d.importUsers((lookups) => {
          expect(lookups.user('amy@example.com')).toBeDefined()
          expect(lookups.alias('ames@example.com')).toBeUndefined()
          expect(lookups.isLocalDomain('example.com')).toBe(true)
          throw new Error('a line is refused')
        }),
      ).rejects.toThrow('a line is refused')
      expect(await d.user('bob@example.com')).toBeUndefined()
      expect(await d.importUsers(() => batch)).toEqual(batch)
      expect(await d.user('amy@example.com')).toMatchObject({disabled: true, quota: 5, passwordHash: HASH})
      expect(await d.user('bob@example.com')).toMatchObject({quota: 7, maxMessages: 9, disabled: false})
      // an update that gives a message limit sets it and keeps the rest
      await d.importUsers(() => [{address: 'amy@example.com', exists: true, maxMessages: 4, aliases: []}])
      expect(await d.user('amy@example.com')).toMatchObject({disabled: true, quota: 5, maxMessages: 4, passwordHash: HASH})
      expect(await d.alias('ames@example.com')).toMatchObject({targets: ['amy@example.com']})
    })

    withStore('initialize: domain, postmaster and role aliases at once; again, the domain is kept and the password replaced', async (d, k) => {
      let made = 0
      const init = {domain: 'example.net', newDomain: () => (made++, domain('example.net')), postmaster: 'postmaster@example.net', passwordHash: HASH, aliases: ['abuse@example.net', 'hostmaster@example.net']}
      expect(await d.initialize(init)).toEqual({domainCreated: true, postmasterCreated: true, aliasesAdded: ['abuse@example.net', 'hostmaster@example.net'], aliasesKept: []})
      expect(made).toBe(1)
      expect(await k.keys('example.net')).toHaveLength(2)
      expect(await d.initialize({...init, passwordHash: 'new hash'})).toEqual({domainCreated: false, postmasterCreated: false, aliasesAdded: [], aliasesKept: ['abuse@example.net', 'hostmaster@example.net']})
      expect(made).toBe(1)
      expect((await d.user('postmaster@example.net'))!.passwordHash).toBe('new hash')
      await d.addAlias('postmaster@example.com', ['amy@example.org'])
      expect(await codeOfAsync(d.initialize({...init, domain: 'example.com', postmaster: 'postmaster@example.com', aliases: []}))).toBe('conflict')
    })

    withStore('concurrent writes of the same name: the check is inside the write, so exactly one wins', async (d) => {
      const results = await Promise.allSettled([
        d.addUser({address: 'race@example.com', passwordHash: 'one'}),
        d.addUser({address: 'race@example.com', passwordHash: 'two'}),
        d.addAlias('race@example.com', ['x@example.org']),
      ])
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      const asUser = (await d.user('race@example.com')) !== undefined
      const asAlias = (await d.alias('race@example.com')) !== undefined
      expect(asUser !== asAlias).toBe(true)
    })

    withStore('a resolved write is committed: a second handle on the same store sees it', async (d, _k, opened) => {
      await d.addUser({address: 'amy@example.com', passwordHash: HASH})
      const other = await opened.reopen()
      try {
        expect(await other.directory.user('amy@example.com')).toMatchObject({address: 'amy@example.com'})
        expect(await other.directory.isLocalDomain('example.com')).toBe(true)
        await other.directory.addAlias('info@example.com', ['amy@example.com'])
      } finally {
        await other.close()
      }
      expect(await d.resolve('info@example.com')).toEqual({local: ['amy@example.com'], remote: []})
    })

    withStore('DKIM: a rotation retires the active keys in the same commit; an active key cannot be removed', async (d, k) => {
      const fresh = keysOf('example.com', Date.now() + 1, 'b')
      const retired = await k.rotate('example.com', fresh, 1234)
      expect(retired.map((key) => [key.selector, key.state, key.retiredAt])).toEqual([
        ['a-ed25519', 'retired', 1234],
        ['a-rsa', 'retired', 1234],
      ])
      expect((await k.activeKeys('example.com')).map((key) => key.selector)).toEqual(['b-ed25519', 'b-rsa'])
      expect(await codeOfAsync(k.remove('example.com', 'b-rsa'))).toBe('conflict')
      expect(await codeOfAsync(k.remove('example.com', 'nope'))).toBe('not-found')
      expect((await k.remove('example.com', 'a-rsa')).state).toBe('retired')
      expect((await k.keys('example.com')).map((key) => key.selector)).toEqual(['a-ed25519', 'b-ed25519', 'b-rsa'])
      expect(await codeOfAsync(k.rotate('example.net', keysOf('example.net', 1), 1))).toBe('not-found')
      expect(await k.keys('example.net')).toEqual([])
      // a selector that is taken refuses the whole rotation
      expect(await codeOfAsync(k.rotate('example.com', keysOf('example.com', 2, 'b'), 2))).toBe('exists')
      expect((await k.activeKeys('example.com')).map((key) => key.selector)).toEqual(['b-ed25519', 'b-rsa'])
      expect(await d.isLocalDomain('example.com')).toBe(true)
    })
  })
}
