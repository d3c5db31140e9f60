import {beforeAll, describe, expect, it} from 'vitest'
import {addAlias} from '../../src/directory/aliases.js'
import {addDomain, isLocalDomain, listDomains, removeDomain, requireDomain} from '../../src/directory/domains.js'
import {addUser, checkNewUser, findUser, listUsers, removeUser, setDisabled, setPassword, setQuota, showUser} from '../../src/directory/users.js'
import {verifyPassword} from '../../src/auth/password.js'
import {MailboxError} from '../../src/errors.js'
import type {Store} from '../../src/store/store.js'
import {tempStore} from '../helpers/store.js'
import {codeOfAsync} from '../helpers/errors.js'

const store = tempStore()


/** a message of `bytes` bytes in the user's folder, with its blob */
function putMessage(s: Store, user: string, folderName: string, blobId: string, bytes: number): void {
  s.transact(() => {
    const folder = s.mailboxes.get([user, folderName])!
    s.blobs.putSync(blobId, Buffer.alloc(bytes, 'x'))
    s.blobInfo.putSync(blobId, {refs: 1, size: bytes, createdAt: Date.now()})
    s.messages.putSync([folder.id, folder.uidNext], {uid: folder.uidNext, blobId, flags: [], internalDate: 0, size: bytes, modseq: 1})
    s.mailboxes.putSync([user, folderName], {...folder, uidNext: folder.uidNext + 1, messages: folder.messages + 1, size: folder.size + bytes})
  })
}

describe('domains', () => {
  it('addDomain normalizes the name and records it', async () => {
    const rec = await addDomain(store, ' Example.COM. ')
    expect(rec.name).toBe('example.com')
    expect(await isLocalDomain(store, 'example.com')).toBe(true)
    expect((await store.directory.domains()).map((d) => d.name)).toContain('example.com')
  })

  it('adds an IDN domain in punycode', async () => {
    expect((await addDomain(store, 'Bücher.example')).name).toBe('xn--bcher-kva.example')
    expect(await isLocalDomain(store, 'xn--bcher-kva.example')).toBe(true)
  })

  it('refuses a duplicate (exists) and a malformed name (invalid)', async () => {
    expect(await codeOfAsync(() => addDomain(store, 'EXAMPLE.com'))).toBe('exists')
    expect(await codeOfAsync(() => addDomain(store, 'not a domain'))).toBe('invalid')
    expect(await codeOfAsync(() => addDomain(store, 'bad_label.com'))).toBe('invalid')
  })

  it('requireDomain throws not-found for an unknown domain', async () => {
    await expect(requireDomain(store, 'example.com')).resolves.toBeUndefined()
    expect(await codeOfAsync(() => requireDomain(store, 'unknown.example'))).toBe('not-found')
    expect(await isLocalDomain(store, 'unknown.example')).toBe(false)
  })

  it('removeDomain of an unknown domain is not-found', async () => {
    expect(await codeOfAsync(() => removeDomain(store, 'unknown.example'))).toBe('not-found')
  })

  it('removes an empty domain', async () => {
    await addDomain(store, 'empty.example')
    expect(await removeDomain(store, 'Empty.Example')).toEqual({users: [], aliases: []})
    expect(await isLocalDomain(store, 'empty.example')).toBe(false)
  })
})

describe('users', () => {
  beforeAll(async () => {
    await addDomain(store, 'users.test')
  })

  it('addUser creates the user with default folders and returns a view without the hash', async () => {
    const before = Date.now()
    const view = await addUser(store, {address: 'Alice@Users.TEST', password: 'correct horse', quota: 1024})
    expect(view).toEqual({
      address: 'alice@users.test',
      quota: 1024,
      maxMessages: 0,
      used: 0,
      messages: 0,
      folders: 6,
      disabled: false,
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
    })
    expect(view.createdAt).toBeGreaterThanOrEqual(before)
    expect(Object.keys(view)).not.toContain('passwordHash')
    const rec = (await findUser(store, 'alice@users.test'))!
    expect(rec.passwordHash).toMatch(/^\$argon2id\$/)
    expect(await verifyPassword(rec.passwordHash, 'correct horse')).toBe(true)
    expect((await store.mail.folders('alice@users.test')).map((f) => f.name)).toEqual(['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash'])
  })

  it('quota defaults to 0 (unlimited)', async () => {
    expect((await addUser(store, {address: 'bob@users.test', password: 'pw'})).quota).toBe(0)
  })

  it('refuses a duplicate in any case (exists), an unknown domain (not-found), a malformed address (invalid)', async () => {
    expect(await codeOfAsync(() => addUser(store, {address: 'ALICE@users.test', password: 'x'}))).toBe('exists')
    expect(await codeOfAsync(() => addUser(store, {address: 'zed@nowhere.test', password: 'x'}))).toBe('not-found')
    expect(await codeOfAsync(() => addUser(store, {address: 'no at sign', password: 'x'}))).toBe('invalid')
    expect(await findUser(store, 'zed@nowhere.test')).toBeUndefined()
  })

  it('refuses a bad password shape (invalid) and stores nothing', async () => {
    expect(await codeOfAsync(() => addUser(store, {address: 'pw@users.test', password: ''}))).toBe('invalid')
    expect(await codeOfAsync(() => addUser(store, {address: 'pw@users.test', password: 'a\nb'}))).toBe('invalid')
    expect(await findUser(store, 'pw@users.test')).toBeUndefined()
    expect(await store.mail.folders('pw@users.test')).toEqual([])
  })

  it('refuses a user whose address is an alias (exists)', async () => {
    await addAlias(store, 'sales@users.test', ['alice@users.test'])
    expect(await codeOfAsync(() => checkNewUser(store, 'Sales@users.test'))).toBe('exists')
    expect(await codeOfAsync(() => addUser(store, {address: 'sales@users.test', password: 'x'}))).toBe('exists')
    expect(await checkNewUser(store, 'New@Users.test')).toBe('new@users.test')
  })

  it('showUser / listUsers report usage from the folders', async () => {
    putMessage(store, 'bob@users.test', 'INBOX', 'bob-1', 300)
    putMessage(store, 'bob@users.test', 'Sent', 'bob-2', 200)
    await store.mail.createFolder('bob@users.test', 'Extra')
    expect(await showUser(store, 'BOB@users.test')).toMatchObject({address: 'bob@users.test', used: 500, messages: 2, folders: 7})
    // listed from one pass over every user's folders: each user's own figures, as show gives them
    const listed = await listUsers(store)
    expect(listed.map((u) => u.address)).toEqual(expect.arrayContaining(['alice@users.test', 'bob@users.test']))
    for (const user of listed) expect(user).toEqual(await showUser(store, user.address))
    expect(listed.find((u) => u.address === 'alice@users.test')).toMatchObject({used: 0, messages: 0, folders: 6})
    expect(await codeOfAsync(() => showUser(store, 'ghost@users.test'))).toBe('not-found')
  })

  it('setDisabled, setQuota and setPassword update the record and updatedAt', async () => {
    const before = (await findUser(store, 'alice@users.test'))!
    await new Promise((r) => setTimeout(r, 5))
    expect((await setDisabled(store, 'Alice@users.test', true)).disabled).toBe(true)
    expect((await findUser(store, 'alice@users.test'))!.disabled).toBe(true)
    expect((await findUser(store, 'alice@users.test'))!.updatedAt).toBeGreaterThan(before.updatedAt)
    expect((await setDisabled(store, 'alice@users.test', false)).disabled).toBe(false)
    expect((await setQuota(store, 'alice@users.test', 5 * 1024 ** 2)).quota).toBe(5 * 1024 ** 2)
    await setPassword(store, 'alice@users.test', 'new password')
    const hash = (await findUser(store, 'alice@users.test'))!.passwordHash
    expect(hash).not.toBe(before.passwordHash)
    expect(await verifyPassword(hash, 'new password')).toBe(true)
    expect(await verifyPassword(hash, 'correct horse')).toBe(false)
    expect((await findUser(store, 'alice@users.test'))!.createdAt).toBe(before.createdAt)
  })

  it('changing a missing user is not-found', async () => {
    expect(await codeOfAsync(() => setDisabled(store, 'ghost@users.test', true))).toBe('not-found')
    expect(await codeOfAsync(() => setQuota(store, 'ghost@users.test', 1))).toBe('not-found')
    expect(await codeOfAsync(() => setPassword(store, 'ghost@users.test', 'x'))).toBe('not-found')
    expect(await findUser(store, 'ghost@users.test')).toBeUndefined()
  })

  it('removeUser refuses a user with messages unless forced, then deletes folders, messages and blobs', async () => {
    expect(await codeOfAsync(() => removeUser(store, 'bob@users.test'))).toBe('conflict')
    expect(await findUser(store, 'bob@users.test')).toBeDefined()
    const inboxId = store.mailboxes.get(['bob@users.test', 'INBOX'])!.id
    const removed = await removeUser(store, 'bob@users.test', {force: true})
    expect(removed).toMatchObject({address: 'bob@users.test', messages: 2, used: 500})
    expect(await findUser(store, 'bob@users.test')).toBeUndefined()
    expect(await store.mail.folders('bob@users.test')).toEqual([])
    expect(store.messages.get([inboxId, 1])).toBeUndefined()
    expect(store.blobs.get('bob-1')).toBeUndefined()
    expect(store.blobInfo.get('bob-2')).toBeUndefined()
  })

  it('removeUser of a user without messages needs no force', async () => {
    await addUser(store, {address: 'carl@users.test', password: 'pw'})
    expect((await removeUser(store, 'carl@users.test')).address).toBe('carl@users.test')
    expect(await findUser(store, 'carl@users.test')).toBeUndefined()
  })
})

describe('removeDomain with users and aliases', () => {
  beforeAll(async () => {
    await addDomain(store, 'doomed.test')
    await addDomain(store, 'keeper.test')
    await addUser(store, {address: 'u1@doomed.test', password: 'pw'})
    await addUser(store, {address: 'k@keeper.test', password: 'pw'})
    await addAlias(store, 'list@doomed.test', ['u1@doomed.test'])
    await addAlias(store, 'fan@keeper.test', ['u1@doomed.test', 'k@keeper.test'])
    putMessage(store, 'u1@doomed.test', 'INBOX', 'doomed-1', 10)
  })

  it('listDomains counts users and aliases per domain', async () => {
    const byName = Object.fromEntries((await listDomains(store)).map((d) => [d.name, d]))
    expect(byName['doomed.test']).toMatchObject({users: 1, aliases: 1})
    expect(byName['keeper.test']).toMatchObject({users: 1, aliases: 1})
  })

  it('refuses while the domain has users, unless forced', async () => {
    expect(await codeOfAsync(() => removeDomain(store, 'doomed.test'))).toBe('conflict')
    expect(await isLocalDomain(store, 'doomed.test')).toBe(true)
    expect(await findUser(store, 'u1@doomed.test')).toBeDefined()
  })

  it('refuses while the domain has only aliases, unless forced', async () => {
    await addDomain(store, 'aliasonly.test')
    await addAlias(store, 'x@aliasonly.test', ['k@keeper.test'])
    expect(await codeOfAsync(() => removeDomain(store, 'aliasonly.test'))).toBe('conflict')
    expect(await removeDomain(store, 'aliasonly.test', {force: true})).toEqual({users: [], aliases: ['x@aliasonly.test']})
    expect(await store.directory.alias('x@aliasonly.test')).toBeUndefined()
  })

  it('with force removes its users (and their mail), its aliases, and their place in other aliases', async () => {
    const result = await removeDomain(store, 'doomed.test', {force: true})
    expect(result).toEqual({users: ['u1@doomed.test'], aliases: ['list@doomed.test']})
    expect(await isLocalDomain(store, 'doomed.test')).toBe(false)
    expect(await findUser(store, 'u1@doomed.test')).toBeUndefined()
    expect(await store.mail.folders('u1@doomed.test')).toEqual([])
    expect(store.blobs.get('doomed-1')).toBeUndefined()
    expect(await store.directory.alias('list@doomed.test')).toBeUndefined()
    expect((await store.directory.alias('fan@keeper.test'))?.targets).toEqual(['k@keeper.test'])
    // the other domain is untouched
    expect(await findUser(store, 'k@keeper.test')).toBeDefined()
    expect(await store.mail.folders('k@keeper.test')).toHaveLength(6)
  })
})
