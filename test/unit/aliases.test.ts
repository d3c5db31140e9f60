import {beforeAll, describe, expect, it} from 'vitest'
import {addAlias, listAliases, removeAlias, resolveRecipient} from '../../src/directory/aliases.js'
import {addDomain} from '../../src/directory/domains.js'
import {addUser, removeUser} from '../../src/directory/users.js'
import {MailboxError} from '../../src/errors.js'
import {tempStore} from '../helpers/store.js'
import {codeOfAsync} from '../helpers/errors.js'

const store = tempStore()


const sorted = (r: {local: string[]; remote: string[]} | undefined) => r && {local: [...r.local].sort(), remote: [...r.remote].sort()}

beforeAll(async () => {
  for (const d of ['example.com', 'catch.test', 'loop.test', 'gone.test', 'cycle.test']) await addDomain(store, d)
  await Promise.all(
    ['alice@example.com', 'bob@example.com', 'carol@catch.test', 'dave@loop.test', 'erin@gone.test', 'frank@gone.test', 'gus@cycle.test'].map(
      (address) => addUser(store, {address, password: 'secret'}),
    ),
  )
})

describe('addAlias', () => {
  it('stores the alias with normalized, de-duplicated targets', async () => {
    const rec = await addAlias(store, 'Sales@Example.COM', ['Alice@example.com', 'alice@EXAMPLE.com', 'bob@example.com'])
    expect(rec).toMatchObject({alias: 'sales@example.com', targets: ['alice@example.com', 'bob@example.com']})
    expect(await store.directory.alias('sales@example.com')).toEqual(rec)
    expect((await listAliases(store)).map((a) => a.alias)).toContain('sales@example.com')
  })

  it('refuses an alias with no targets (invalid)', async () => {
    expect(await codeOfAsync(() => addAlias(store, 'empty@example.com', []))).toBe('invalid')
    expect(await store.directory.alias('empty@example.com')).toBeUndefined()
  })

  it('refuses a malformed alias or target (invalid)', async () => {
    expect(await codeOfAsync(() => addAlias(store, 'not an address', ['alice@example.com']))).toBe('invalid')
    expect(await codeOfAsync(() => addAlias(store, 'x@example.com', ['alice']))).toBe('invalid')
    expect(await store.directory.alias('x@example.com')).toBeUndefined()
  })

  it('refuses an alias in an unknown domain (not-found)', async () => {
    expect(await codeOfAsync(() => addAlias(store, 'sales@nowhere.test', ['alice@example.com']))).toBe('not-found')
    expect(await codeOfAsync(() => addAlias(store, '@nowhere.test', ['alice@example.com']))).toBe('not-found')
  })

  it('refuses a second alias with the same name, in any case (exists)', async () => {
    await addAlias(store, 'dup@example.com', ['alice@example.com'])
    expect(await codeOfAsync(() => addAlias(store, 'DUP@example.com', ['bob@example.com']))).toBe('exists')
    expect((await store.directory.alias('dup@example.com'))?.targets).toEqual(['alice@example.com'])
  })

  it('refuses an alias that would shadow a user (exists)', async () => {
    expect(await codeOfAsync(() => addAlias(store, 'Alice@example.com', ['bob@example.com']))).toBe('exists')
    expect(await store.directory.alias('alice@example.com')).toBeUndefined()
  })

  it('refuses a dangling local target (not-found) and stores nothing', async () => {
    expect(await codeOfAsync(() => addAlias(store, 'typo@example.com', ['alcie@example.com']))).toBe('not-found')
    expect(await codeOfAsync(() => addAlias(store, 'typo@example.com', ['alice@example.com', 'nobody@example.com']))).toBe('not-found')
    expect(await store.directory.alias('typo@example.com')).toBeUndefined()
  })

  it('accepts a remote target without checking it', async () => {
    const rec = await addAlias(store, 'fwd@example.com', ['Someone@Remote.Example'])
    expect(rec.targets).toEqual(['someone@remote.example'])
  })
})

describe('alias loops are refused (conflict)', () => {
  it('a self-alias', async () => {
    expect(await codeOfAsync(() => addAlias(store, 'me@loop.test', ['me@loop.test']))).toBe('conflict')
    expect(await codeOfAsync(() => addAlias(store, 'me@loop.test', ['dave@loop.test', 'ME@loop.test']))).toBe('conflict')
    expect(await store.directory.alias('me@loop.test')).toBeUndefined()
  })

  it('a → b, b → a (b reachable through the catch-all when a is added)', async () => {
    await addAlias(store, '@loop.test', ['dave@loop.test'])
    await addAlias(store, 'a@loop.test', ['b@loop.test']) // b resolves via the catch-all to dave
    expect(sorted(await resolveRecipient(store, 'a@loop.test'))).toEqual({local: ['dave@loop.test'], remote: []})
    expect(await codeOfAsync(() => addAlias(store, 'b@loop.test', ['a@loop.test']))).toBe('conflict')
    expect(await store.directory.alias('b@loop.test')).toBeUndefined()
    // the existing state still resolves
    expect(sorted(await resolveRecipient(store, 'a@loop.test'))).toEqual({local: ['dave@loop.test'], remote: []})
  })

  it('a longer cycle a → b → c → a', async () => {
    await addDomain(store, 'ring.test')
    await addAlias(store, '@ring.test', ['ext@remote.example']) // makes not-yet-existing names resolvable
    await addAlias(store, 'a@ring.test', ['b@ring.test'])
    await addAlias(store, 'b@ring.test', ['c@ring.test'])
    expect(await codeOfAsync(() => addAlias(store, 'c@ring.test', ['a@ring.test']))).toBe('conflict')
    expect(await store.directory.alias('c@ring.test')).toBeUndefined()
    expect(await resolveRecipient(store, 'a@ring.test')).toEqual({local: [], remote: ['ext@remote.example']})
  })

  it('a catch-all pointing to an unknown address of its own domain', async () => {
    await addDomain(store, 'catchloop.test')
    expect(await codeOfAsync(() => addAlias(store, '@catchloop.test', ['x@catchloop.test']))).toBe('conflict')
    expect(await store.directory.alias('@catchloop.test')).toBeUndefined()
  })

  it('a catch-all pointing to an alias that falls back to the catch-all', async () => {
    // gus@cycle.test is a user; p → q where q exists only via the catch-all being added
    await addAlias(store, 'p@cycle.test', ['gus@cycle.test'])
    expect(await codeOfAsync(() => addAlias(store, '@cycle.test', ['p@cycle.test', 'q@cycle.test']))).toBe('conflict')
    expect(await store.directory.alias('@cycle.test')).toBeUndefined()
  })
})

describe('resolveRecipient', () => {
  it('a user resolves to itself', async () => {
    expect(await resolveRecipient(store, 'alice@example.com')).toEqual({local: ['alice@example.com'], remote: []})
  })

  it('an alias resolves to its local users', async () => {
    expect(sorted(await resolveRecipient(store, 'sales@example.com'))).toEqual({local: ['alice@example.com', 'bob@example.com'], remote: []})
  })

  it('an alias with a remote target resolves to that remote address', async () => {
    expect(await resolveRecipient(store, 'fwd@example.com')).toEqual({local: [], remote: ['someone@remote.example']})
  })

  it('nested aliases are followed, local and remote collected without duplicates', async () => {
    await addAlias(store, 'team@example.com', ['sales@example.com', 'fwd@example.com', 'alice@example.com'])
    expect(sorted(await resolveRecipient(store, 'team@example.com'))).toEqual({
      local: ['alice@example.com', 'bob@example.com'],
      remote: ['someone@remote.example'],
    })
  })

  it('an address of another domain resolves to itself as remote', async () => {
    expect(await resolveRecipient(store, 'who@elsewhere.example')).toEqual({local: [], remote: ['who@elsewhere.example']})
  })

  it('an unknown address of a local domain without catch-all resolves to undefined', async () => {
    expect(await resolveRecipient(store, 'nobody@example.com')).toBeUndefined()
  })

  it('order: user, then alias, then catch-all', async () => {
    await addAlias(store, '@catch.test', ['carol@catch.test'])
    await addAlias(store, 'info@catch.test', ['bob@example.com'])
    // anything else → catch-all
    expect(await resolveRecipient(store, 'random@catch.test')).toEqual({local: ['carol@catch.test'], remote: []})
    // the alias wins over the catch-all
    expect(await resolveRecipient(store, 'info@catch.test')).toEqual({local: ['bob@example.com'], remote: []})
    // a user wins over an alias record with the same name (one written before the user existed)
    store.transact(() => store.aliases.putSync('carol@catch.test', {alias: 'carol@catch.test', targets: ['alice@example.com'], createdAt: 0}))
    try {
      expect(await resolveRecipient(store, 'carol@catch.test')).toEqual({local: ['carol@catch.test'], remote: []})
    } finally {
      store.transact(() => store.aliases.removeSync('carol@catch.test'))
    }
  })

  it('a stale target is skipped at resolution time without dropping the others', async () => {
    await addAlias(store, 'mid@example.com', ['bob@example.com'])
    await addAlias(store, 'chain@example.com', ['mid@example.com', 'alice@example.com'])
    await removeAlias(store, 'mid@example.com')
    expect(await resolveRecipient(store, 'chain@example.com')).toEqual({local: ['alice@example.com'], remote: []})
  })
})

describe('removeAlias', () => {
  it('removes and returns the alias (normalized name)', async () => {
    await addAlias(store, 'temp@example.com', ['bob@example.com'])
    const removed = await removeAlias(store, 'TEMP@Example.com')
    expect(removed).toMatchObject({alias: 'temp@example.com', targets: ['bob@example.com']})
    expect(await store.directory.alias('temp@example.com')).toBeUndefined()
    expect(await resolveRecipient(store, 'temp@example.com')).toBeUndefined()
  })

  it('a missing alias is not-found', async () => {
    expect(await codeOfAsync(() => removeAlias(store, 'never@example.com'))).toBe('not-found')
  })

  it('drops the removed alias from other aliases, so a catch-all through it does not start looping', async () => {
    await addDomain(store, 'chain.test')
    await addAlias(store, 'hub@chain.test', ['alice@example.com'])
    await addAlias(store, '@chain.test', ['hub@chain.test'])
    expect(sorted(await resolveRecipient(store, 'anyone@chain.test'))).toEqual({local: ['alice@example.com'], remote: []})
    await removeAlias(store, 'hub@chain.test')
    expect(await store.directory.alias('@chain.test')).toBeUndefined()
    expect(await resolveRecipient(store, 'anyone@chain.test')).toBeUndefined()
  })
})

describe('removeUser and alias targets', () => {
  it('drops the user from alias targets; an alias left with no targets goes away', async () => {
    await addAlias(store, 'pair@gone.test', ['erin@gone.test', 'frank@gone.test'])
    await addAlias(store, 'solo@gone.test', ['erin@gone.test'])
    await addAlias(store, 'mixed@example.com', ['erin@gone.test', 'ext@remote.example'])
    await removeUser(store, 'Erin@gone.test')
    expect(await store.directory.user('erin@gone.test')).toBeUndefined()
    expect((await store.directory.alias('pair@gone.test'))?.targets).toEqual(['frank@gone.test'])
    expect(await store.directory.alias('solo@gone.test')).toBeUndefined()
    expect((await store.directory.alias('mixed@example.com'))?.targets).toEqual(['ext@remote.example'])
    expect(await resolveRecipient(store, 'pair@gone.test')).toEqual({local: ['frank@gone.test'], remote: []})
    expect(await resolveRecipient(store, 'erin@gone.test')).toBeUndefined()
    expect(await codeOfAsync(() => removeUser(store, 'erin@gone.test'))).toBe('not-found')
  })

  it('an alias that goes away with the user also leaves the aliases that pointed at it (no catch-all loop)', async () => {
    await addDomain(store, 'chainrm.test')
    await addUser(store, {address: 'only@chainrm.test', password: 'pw'})
    await addAlias(store, 'a@chainrm.test', ['only@chainrm.test'])
    await addAlias(store, 'b@chainrm.test', ['a@chainrm.test', 'ext@remote.example'])
    await addAlias(store, '@chainrm.test', ['a@chainrm.test'])
    expect(await resolveRecipient(store, 'zzz@chainrm.test')).toEqual({local: ['only@chainrm.test'], remote: []})
    await removeUser(store, 'only@chainrm.test')
    expect(await store.directory.alias('a@chainrm.test')).toBeUndefined()
    expect((await store.directory.alias('b@chainrm.test'))?.targets).toEqual(['ext@remote.example'])
    // the catch-all pointed only at a@, which is gone: it goes too, instead of looping back to itself
    expect(await store.directory.alias('@chainrm.test')).toBeUndefined()
    expect(await resolveRecipient(store, 'zzz@chainrm.test')).toBeUndefined()
    expect(await resolveRecipient(store, 'b@chainrm.test')).toEqual({local: [], remote: ['ext@remote.example']})
  })
})
