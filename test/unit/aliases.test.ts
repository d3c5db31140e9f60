import {beforeAll, describe, expect, it} from 'vitest'
import {addAlias, listAliases, removeAlias, resolveRecipient} from '../../src/directory/aliases.js'
import {addDomain} from '../../src/directory/domains.js'
import {addUser, removeUser} from '../../src/directory/users.js'
import {MailboxError} from '../../src/errors.js'
import {tempStore} from '../helpers/store.js'
import {codeOf, codeOfAsync} from '../helpers/errors.js'

const store = tempStore()


const sorted = (r: {local: string[]; remote: string[]} | undefined) => r && {local: [...r.local].sort(), remote: [...r.remote].sort()}

beforeAll(async () => {
  for (const d of ['example.com', 'catch.test', 'loop.test', 'gone.test', 'cycle.test']) addDomain(store, d)
  await Promise.all(
    ['alice@example.com', 'bob@example.com', 'carol@catch.test', 'dave@loop.test', 'erin@gone.test', 'frank@gone.test', 'gus@cycle.test'].map(
      (address) => addUser(store, {address, password: 'secret'}),
    ),
  )
})

describe('addAlias', () => {
  it('stores the alias with normalized, de-duplicated targets', () => {
    const rec = addAlias(store, 'Sales@Example.COM', ['Alice@example.com', 'alice@EXAMPLE.com', 'bob@example.com'])
    expect(rec).toMatchObject({alias: 'sales@example.com', targets: ['alice@example.com', 'bob@example.com']})
    expect(store.aliases.get('sales@example.com')).toEqual(rec)
    expect(listAliases(store).map((a) => a.alias)).toContain('sales@example.com')
  })

  it('refuses an alias with no targets (invalid)', () => {
    expect(codeOf(() => addAlias(store, 'empty@example.com', []))).toBe('invalid')
    expect(store.aliases.get('empty@example.com')).toBeUndefined()
  })

  it('refuses a malformed alias or target (invalid)', () => {
    expect(codeOf(() => addAlias(store, 'not an address', ['alice@example.com']))).toBe('invalid')
    expect(codeOf(() => addAlias(store, 'x@example.com', ['alice']))).toBe('invalid')
    expect(store.aliases.get('x@example.com')).toBeUndefined()
  })

  it('refuses an alias in an unknown domain (not-found)', () => {
    expect(codeOf(() => addAlias(store, 'sales@nowhere.test', ['alice@example.com']))).toBe('not-found')
    expect(codeOf(() => addAlias(store, '@nowhere.test', ['alice@example.com']))).toBe('not-found')
  })

  it('refuses a second alias with the same name, in any case (exists)', () => {
    addAlias(store, 'dup@example.com', ['alice@example.com'])
    expect(codeOf(() => addAlias(store, 'DUP@example.com', ['bob@example.com']))).toBe('exists')
    expect(store.aliases.get('dup@example.com')?.targets).toEqual(['alice@example.com'])
  })

  it('refuses an alias that would shadow a user (exists)', () => {
    expect(codeOf(() => addAlias(store, 'Alice@example.com', ['bob@example.com']))).toBe('exists')
    expect(store.aliases.get('alice@example.com')).toBeUndefined()
  })

  it('refuses a dangling local target (not-found) and stores nothing', () => {
    expect(codeOf(() => addAlias(store, 'typo@example.com', ['alcie@example.com']))).toBe('not-found')
    expect(codeOf(() => addAlias(store, 'typo@example.com', ['alice@example.com', 'nobody@example.com']))).toBe('not-found')
    expect(store.aliases.get('typo@example.com')).toBeUndefined()
  })

  it('accepts a remote target without checking it', () => {
    const rec = addAlias(store, 'fwd@example.com', ['Someone@Remote.Example'])
    expect(rec.targets).toEqual(['someone@remote.example'])
  })
})

describe('alias loops are refused (conflict)', () => {
  it('a self-alias', () => {
    expect(codeOf(() => addAlias(store, 'me@loop.test', ['me@loop.test']))).toBe('conflict')
    expect(codeOf(() => addAlias(store, 'me@loop.test', ['dave@loop.test', 'ME@loop.test']))).toBe('conflict')
    expect(store.aliases.get('me@loop.test')).toBeUndefined()
  })

  it('a → b, b → a (b reachable through the catch-all when a is added)', () => {
    addAlias(store, '@loop.test', ['dave@loop.test'])
    addAlias(store, 'a@loop.test', ['b@loop.test']) // b resolves via the catch-all to dave
    expect(sorted(resolveRecipient(store, 'a@loop.test'))).toEqual({local: ['dave@loop.test'], remote: []})
    expect(codeOf(() => addAlias(store, 'b@loop.test', ['a@loop.test']))).toBe('conflict')
    expect(store.aliases.get('b@loop.test')).toBeUndefined()
    // the existing state still resolves
    expect(sorted(resolveRecipient(store, 'a@loop.test'))).toEqual({local: ['dave@loop.test'], remote: []})
  })

  it('a longer cycle a → b → c → a', () => {
    addDomain(store, 'ring.test')
    addAlias(store, '@ring.test', ['ext@remote.example']) // makes not-yet-existing names resolvable
    addAlias(store, 'a@ring.test', ['b@ring.test'])
    addAlias(store, 'b@ring.test', ['c@ring.test'])
    expect(codeOf(() => addAlias(store, 'c@ring.test', ['a@ring.test']))).toBe('conflict')
    expect(store.aliases.get('c@ring.test')).toBeUndefined()
    expect(resolveRecipient(store, 'a@ring.test')).toEqual({local: [], remote: ['ext@remote.example']})
  })

  it('a catch-all pointing to an unknown address of its own domain', () => {
    addDomain(store, 'catchloop.test')
    expect(codeOf(() => addAlias(store, '@catchloop.test', ['x@catchloop.test']))).toBe('conflict')
    expect(store.aliases.get('@catchloop.test')).toBeUndefined()
  })

  it('a catch-all pointing to an alias that falls back to the catch-all', () => {
    // gus@cycle.test is a user; p → q where q exists only via the catch-all being added
    addAlias(store, 'p@cycle.test', ['gus@cycle.test'])
    expect(codeOf(() => addAlias(store, '@cycle.test', ['p@cycle.test', 'q@cycle.test']))).toBe('conflict')
    expect(store.aliases.get('@cycle.test')).toBeUndefined()
  })
})

describe('resolveRecipient', () => {
  it('a user resolves to itself', () => {
    expect(resolveRecipient(store, 'alice@example.com')).toEqual({local: ['alice@example.com'], remote: []})
  })

  it('an alias resolves to its local users', () => {
    expect(sorted(resolveRecipient(store, 'sales@example.com'))).toEqual({local: ['alice@example.com', 'bob@example.com'], remote: []})
  })

  it('an alias with a remote target resolves to that remote address', () => {
    expect(resolveRecipient(store, 'fwd@example.com')).toEqual({local: [], remote: ['someone@remote.example']})
  })

  it('nested aliases are followed, local and remote collected without duplicates', () => {
    addAlias(store, 'team@example.com', ['sales@example.com', 'fwd@example.com', 'alice@example.com'])
    expect(sorted(resolveRecipient(store, 'team@example.com'))).toEqual({
      local: ['alice@example.com', 'bob@example.com'],
      remote: ['someone@remote.example'],
    })
  })

  it('an address of another domain resolves to itself as remote', () => {
    expect(resolveRecipient(store, 'who@elsewhere.example')).toEqual({local: [], remote: ['who@elsewhere.example']})
  })

  it('an unknown address of a local domain without catch-all resolves to undefined', () => {
    expect(resolveRecipient(store, 'nobody@example.com')).toBeUndefined()
  })

  it('order: user, then alias, then catch-all', () => {
    addAlias(store, '@catch.test', ['carol@catch.test'])
    addAlias(store, 'info@catch.test', ['bob@example.com'])
    // anything else → catch-all
    expect(resolveRecipient(store, 'random@catch.test')).toEqual({local: ['carol@catch.test'], remote: []})
    // the alias wins over the catch-all
    expect(resolveRecipient(store, 'info@catch.test')).toEqual({local: ['bob@example.com'], remote: []})
    // a user wins over an alias record with the same name (one written before the user existed)
    store.transact(() => store.aliases.putSync('carol@catch.test', {alias: 'carol@catch.test', targets: ['alice@example.com'], createdAt: 0}))
    try {
      expect(resolveRecipient(store, 'carol@catch.test')).toEqual({local: ['carol@catch.test'], remote: []})
    } finally {
      store.transact(() => store.aliases.removeSync('carol@catch.test'))
    }
  })

  it('a stale target is skipped at resolution time without dropping the others', () => {
    addAlias(store, 'mid@example.com', ['bob@example.com'])
    addAlias(store, 'chain@example.com', ['mid@example.com', 'alice@example.com'])
    removeAlias(store, 'mid@example.com')
    expect(resolveRecipient(store, 'chain@example.com')).toEqual({local: ['alice@example.com'], remote: []})
  })
})

describe('removeAlias', () => {
  it('removes and returns the alias (normalized name)', () => {
    addAlias(store, 'temp@example.com', ['bob@example.com'])
    const removed = removeAlias(store, 'TEMP@Example.com')
    expect(removed).toMatchObject({alias: 'temp@example.com', targets: ['bob@example.com']})
    expect(store.aliases.get('temp@example.com')).toBeUndefined()
    expect(resolveRecipient(store, 'temp@example.com')).toBeUndefined()
  })

  it('a missing alias is not-found', () => {
    expect(codeOf(() => removeAlias(store, 'never@example.com'))).toBe('not-found')
  })

  it('drops the removed alias from other aliases, so a catch-all through it does not start looping', () => {
    addDomain(store, 'chain.test')
    addAlias(store, 'hub@chain.test', ['alice@example.com'])
    addAlias(store, '@chain.test', ['hub@chain.test'])
    expect(sorted(resolveRecipient(store, 'anyone@chain.test'))).toEqual({local: ['alice@example.com'], remote: []})
    removeAlias(store, 'hub@chain.test')
    expect(store.aliases.get('@chain.test')).toBeUndefined()
    expect(resolveRecipient(store, 'anyone@chain.test')).toBeUndefined()
  })
})

describe('removeUser and alias targets', () => {
  it('drops the user from alias targets; an alias left with no targets goes away', async () => {
    addAlias(store, 'pair@gone.test', ['erin@gone.test', 'frank@gone.test'])
    addAlias(store, 'solo@gone.test', ['erin@gone.test'])
    addAlias(store, 'mixed@example.com', ['erin@gone.test', 'ext@remote.example'])
    removeUser(store, 'Erin@gone.test')
    expect(store.users.get('erin@gone.test')).toBeUndefined()
    expect(store.aliases.get('pair@gone.test')?.targets).toEqual(['frank@gone.test'])
    expect(store.aliases.get('solo@gone.test')).toBeUndefined()
    expect(store.aliases.get('mixed@example.com')?.targets).toEqual(['ext@remote.example'])
    expect(resolveRecipient(store, 'pair@gone.test')).toEqual({local: ['frank@gone.test'], remote: []})
    expect(resolveRecipient(store, 'erin@gone.test')).toBeUndefined()
    expect(await codeOfAsync(() => removeUser(store, 'erin@gone.test'))).toBe('not-found')
  })

  it('an alias that goes away with the user also leaves the aliases that pointed at it (no catch-all loop)', async () => {
    addDomain(store, 'chainrm.test')
    await addUser(store, {address: 'only@chainrm.test', password: 'pw'})
    addAlias(store, 'a@chainrm.test', ['only@chainrm.test'])
    addAlias(store, 'b@chainrm.test', ['a@chainrm.test', 'ext@remote.example'])
    addAlias(store, '@chainrm.test', ['a@chainrm.test'])
    expect(resolveRecipient(store, 'zzz@chainrm.test')).toEqual({local: ['only@chainrm.test'], remote: []})
    removeUser(store, 'only@chainrm.test')
    expect(store.aliases.get('a@chainrm.test')).toBeUndefined()
    expect(store.aliases.get('b@chainrm.test')?.targets).toEqual(['ext@remote.example'])
    // the catch-all pointed only at a@, which is gone: it goes too, instead of looping back to itself
    expect(store.aliases.get('@chainrm.test')).toBeUndefined()
    expect(resolveRecipient(store, 'zzz@chainrm.test')).toBeUndefined()
    expect(resolveRecipient(store, 'b@chainrm.test')).toEqual({local: [], remote: ['ext@remote.example']})
  })
})
