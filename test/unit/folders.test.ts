import {describe, expect, it} from 'vitest'
import {MailboxError} from '../../src/errors.js'
import {DEFAULT_FOLDERS, INBOX, normalizeFolderName} from '../../src/mailstore/folder-rules.js'
import {createDefaultFolders, getFolder, removeAllFolders} from '../../src/store/lmdb-folders.js'
import {mailboxMessagesRange} from '../../src/store/keys.js'
import type {MailboxRecord} from '../../src/store/records.js'
import type {Store} from '../../src/store/store.js'
import {tempStore} from '../helpers/store.js'
import {codeOf, codeOfAsync} from '../helpers/errors.js'

const store = tempStore()
const {mail} = store
let userSeq = 0
/** a fresh user (with the default folders) per test, so tests do not see each other's folders */
function newUser(): string {
  const user = `user${++userSeq}@example.com`
  store.transact(() => createDefaultFolders(store, user))
  return user
}


const names = async (user: string) => (await mail.folders(user)).map((f) => f.name)
const usageOf = async (user: string) => {
  const {messages, size} = await mail.usage(user)
  return {messages, size}
}

/** Delivers a message the way the mailstore does: blob (+refcount), message entry, folder counters. */
function putMessage(s: Store, user: string, folderName: string, blobId: string, body = `Subject: ${blobId}\r\n\r\nhello\r\n`): number {
  return s.transact(() => {
    const folder = s.mailboxes.get([user, folderName])
    if (!folder) throw new Error(`no folder ${folderName}`)
    const bytes = Buffer.from(body)
    const info = s.blobInfo.get(blobId)
    if (info) s.blobInfo.putSync(blobId, {...info, refs: info.refs + 1})
    else {
      s.blobs.putSync(blobId, bytes)
      s.blobInfo.putSync(blobId, {refs: 1, size: bytes.length, createdAt: Date.now()})
    }
    const uid = folder.uidNext
    s.messages.putSync([folder.id, uid], {uid, blobId, flags: [], internalDate: Date.now(), size: bytes.length, modseq: 1})
    s.mailboxes.putSync([user, folderName], {
      ...folder,
      uidNext: uid + 1,
      messages: folder.messages + 1,
      unseen: folder.unseen + 1,
      size: folder.size + bytes.length,
    })
    return uid
  })
}

const messageUids = (s: Store, folder: MailboxRecord) => [...s.messages.getRange(mailboxMessagesRange(folder.id)).map(({value}) => value.uid)]

describe('normalizeFolderName', () => {
  it.each([
    ['inbox', 'INBOX'],
    ['Inbox', 'INBOX'],
    ['iNbOx', 'INBOX'],
    ['Inbox/x', 'INBOX/x'],
    ['inbox/Sub/Inbox', 'INBOX/Sub/Inbox'], // only the top level is special
    ['Work/', 'Work'], // a trailing separator declares intent to hold children
    ['Sent', 'Sent'],
    ['Émoji 😀', 'Émoji 😀'],
    ['e\u0301', '\u00e9'], // NFC
    ['inboxes', 'inboxes'], // not INBOX
  ])('%j → %j', (input, expected) => {
    expect(normalizeFolderName(input)).toBe(expected)
  })

  it.each([
    '',
    '/',
    'a//b',
    '/a',
    'a//',
    '../bob/INBOX',
    'INBOX/../x',
    'a/./b',
    '.',
    '..',
    'a\u0000b',
    'a\rb',
    'a\nb',
    'tab\there',
    'del\u007f',
    '*',
    'a*',
    'a%b',
    'x'.repeat(513),
  ])('refuses %j with code invalid', (input) => {
    expect(codeOf(() => normalizeFolderName(input))).toBe('invalid')
  })

  it('accepts 512 bytes and refuses 513', async () => {
    expect(normalizeFolderName('x'.repeat(512))).toBe('x'.repeat(512))
    expect(codeOf(() => normalizeFolderName('é'.repeat(257)))).toBe('invalid') // 514 bytes
  })
})

describe('default folders', () => {
  it('a new user has INBOX, Sent, Drafts, Trash, Junk and Archive with their special-use', async () => {
    const user = newUser()
    const folders = (await mail.folders(user))
    expect(folders.map((f) => [f.name, f.specialUse ?? null])).toEqual([
      ['INBOX', null],
      ['Archive', '\\Archive'],
      ['Drafts', '\\Drafts'],
      ['Junk', '\\Junk'],
      ['Sent', '\\Sent'],
      ['Trash', '\\Trash'],
    ])
    expect(DEFAULT_FOLDERS.map((f) => f.name)).toEqual(['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive'])
    for (const f of folders) {
      expect(f).toMatchObject({user, uidNext: 1, messages: 0, unseen: 0, size: 0, subscribed: true, highestModseq: 1})
      expect(f.noselect).toBeUndefined()
    }
    // every folder has its own id and UIDVALIDITY
    expect(new Set(folders.map((f) => f.id)).size).toBe(6)
    expect(new Set(folders.map((f) => f.uidValidity)).size).toBe(6)
  })

  it('UIDVALIDITY is at least the creation time in seconds', async () => {
    const before = Math.floor(Date.now() / 1000)
    const user = newUser()
    for (const f of (await mail.folders(user))) expect(f.uidValidity).toBeGreaterThanOrEqual(before)
  })

  it('createDefaultFolders is idempotent and keeps existing folders as they are', async () => {
    const user = newUser()
    const before = (await mail.folders(user))
    store.transact(() => createDefaultFolders(store, user))
    expect((await mail.folders(user))).toEqual(before)
  })

  it('folders of one user are invisible to another, including a user whose address extends the first', async () => {
    store.transact(() => createDefaultFolders(store, 'pat@example.com'))
    store.transact(() => createDefaultFolders(store, 'pat@example.com.au'))
    await mail.createFolder('pat@example.com.au', 'OnlyAu')
    expect(await names('pat@example.com')).not.toContain('OnlyAu')
    expect(await names('pat@example.com.au')).toContain('OnlyAu')
    expect(await names('nobody@example.com')).toEqual([])
  })
})

describe('createFolder', () => {
  it('creates a folder, subscribed and empty, and lists it after INBOX in name order', async () => {
    const user = newUser()
    const f = await mail.createFolder(user, 'Projects')
    expect(f).toMatchObject({user, name: 'Projects', uidNext: 1, messages: 0, subscribed: true})
    expect(getFolder(store, user, 'Projects')).toEqual(f)
    expect(await names(user)).toEqual(['INBOX', 'Archive', 'Drafts', 'Junk', 'Projects', 'Sent', 'Trash'])
  })

  it('create a/b/c creates the missing parents a and a/b', async () => {
    const user = newUser()
    const c = await mail.createFolder(user, 'a/b/c')
    expect(c.name).toBe('a/b/c')
    const a = getFolder(store, user, 'a')
    const ab = getFolder(store, user, 'a/b')
    expect(a.noselect).toBeUndefined()
    expect(ab.noselect).toBeUndefined()
    expect(new Set([a.id, ab.id, c.id]).size).toBe(3)
    expect((await names(user)).filter((n) => n.startsWith('a'))).toEqual(['a', 'a/b', 'a/b/c'])
  })

  it('create with an existing parent leaves the parent untouched', async () => {
    const user = newUser()
    const a = await mail.createFolder(user, 'a')
    await mail.createFolder(user, 'a/b')
    expect(getFolder(store, user, 'a')).toEqual(a)
  })

  it('creating an existing folder fails with exists (also INBOX in any case)', async () => {
    const user = newUser()
    await mail.createFolder(user, 'Dup')
    expect(await codeOfAsync(() => mail.createFolder(user, 'Dup'))).toBe('exists')
    expect(await codeOfAsync(() => mail.createFolder(user, 'Dup/'))).toBe('exists')
    expect(await codeOfAsync(() => mail.createFolder(user, 'inbox'))).toBe('exists')
    expect(await codeOfAsync(() => mail.createFolder(user, 'Sent'))).toBe('exists')
  })

  it('INBOX is case-insensitive: Inbox/x is created as INBOX/x', async () => {
    const user = newUser()
    expect((await mail.createFolder(user, 'Inbox/x')).name).toBe('INBOX/x')
    expect((await mail.folder(user, 'inbox/x'))?.name).toBe('INBOX/x')
    expect(await mail.folder(user, 'INBOX/X')).toBeUndefined() // only the INBOX level is case-insensitive
    expect((await names(user)).filter((n) => n.toUpperCase().startsWith('INBOX'))).toEqual(['INBOX', 'INBOX/x'])
  })

  it('a folder named with non-BMP characters is listed and counted', async () => {
    const user = newUser()
    await mail.createFolder(user, '😀 Fun')
    await mail.createFolder(user, 'Zeta')
    expect(await names(user)).toContain('😀 Fun')
    expect(await names(user)).toContain('Zeta')
    putMessage(store, user, '😀 Fun', `emoji-${user}`, 'x'.repeat(10))
    expect(await usageOf(user)).toEqual({messages: 1, size: 10})
  })

  it('refuses invalid names and creates nothing', async () => {
    const user = newUser()
    const before = await names(user)
    for (const bad of ['', 'a//b', '../bob/INBOX', 'INBOX/../x', 'a\u0001', '*', 'x/%']) {
      expect(await codeOfAsync(() => mail.createFolder(user, bad))).toBe('invalid')
    }
    expect(await names(user)).toEqual(before)
  })

  it('records the special-use it is given', async () => {
    const user = newUser()
    expect((await mail.createFolder(user, 'Old Mail', '\\Archive')).specialUse).toBe('\\Archive')
  })

  it('getFolder of a missing folder fails with not-found; findFolder returns undefined', async () => {
    const user = newUser()
    expect(await mail.folder(user, 'Nope')).toBeUndefined()
    expect(codeOf(() => getFolder(store, user, 'Nope'))).toBe('not-found')
  })
})

describe('deleteFolder', () => {
  it('deletes a leaf folder', async () => {
    const user = newUser()
    await mail.createFolder(user, 'Leaf')
    await mail.deleteFolder(user, 'Leaf')
    expect(await mail.folder(user, 'Leaf')).toBeUndefined()
    expect(await names(user)).not.toContain('Leaf')
  })

  it('INBOX cannot be deleted, in any case', async () => {
    const user = newUser()
    expect(await codeOfAsync(() => mail.deleteFolder(user, 'INBOX'))).toBe('conflict')
    expect(await codeOfAsync(() => mail.deleteFolder(user, 'inbox'))).toBe('conflict')
    expect(await mail.folder(user, 'INBOX')).toBeDefined()
  })

  it('an inferior of INBOX can be deleted', async () => {
    const user = newUser()
    await mail.createFolder(user, 'INBOX/sub')
    await mail.deleteFolder(user, 'inbox/sub')
    expect(await mail.folder(user, 'INBOX/sub')).toBeUndefined()
  })

  it('deleting a missing folder fails with not-found', async () => {
    const user = newUser()
    expect(await codeOfAsync(() => mail.deleteFolder(user, 'Ghost'))).toBe('not-found')
  })

  it('deleting a folder with children keeps the children and leaves a \\Noselect placeholder', async () => {
    const user = newUser()
    await mail.createFolder(user, 'p/c1')
    await mail.createFolder(user, 'p/c2/g')
    putMessage(store, user, 'p', `ph-${user}`)
    const childBefore = getFolder(store, user, 'p/c1')
    await mail.deleteFolder(user, 'p')
    const p = getFolder(store, user, 'p')
    expect(p).toMatchObject({name: 'p', noselect: true, messages: 0, unseen: 0, size: 0})
    expect(messageUids(store, p)).toEqual([])
    expect(getFolder(store, user, 'p/c1')).toEqual(childBefore)
    expect((await names(user)).filter((n) => n.startsWith('p'))).toEqual(['p', 'p/c1', 'p/c2', 'p/c2/g'])
  })

  it('a placeholder that still has children cannot be deleted; once they are gone it can', async () => {
    const user = newUser()
    await mail.createFolder(user, 'q/child')
    await mail.deleteFolder(user, 'q')
    expect(await codeOfAsync(() => mail.deleteFolder(user, 'q'))).toBe('conflict')
    expect(getFolder(store, user, 'q').noselect).toBe(true)
    await mail.deleteFolder(user, 'q/child')
    await mail.deleteFolder(user, 'q')
    expect(await mail.folder(user, 'q')).toBeUndefined()
  })

  it('a sibling whose name only shares a prefix is not a child', async () => {
    const user = newUser()
    await mail.createFolder(user, 'r')
    await mail.createFolder(user, 'r2/x')
    await mail.createFolder(user, 'r-other')
    await mail.deleteFolder(user, 'r')
    expect(await mail.folder(user, 'r')).toBeUndefined() // removed, not left as a placeholder
    expect(await mail.folder(user, 'r2/x')).toBeDefined()
  })

  it("a folder's children are not confused with another user's folders", async () => {
    const user = newUser()
    await mail.createFolder(user, 'zz')
    const next = `${user.split('@')[0]}0@example.com` // sorts right after `user`
    store.transact(() => createDefaultFolders(store, next))
    await mail.createFolder(next, 'zz/child')
    await mail.deleteFolder(user, 'zz')
    expect(await mail.folder(user, 'zz')).toBeUndefined()
  })

  it('recreating a deleted folder gets a strictly greater UIDVALIDITY', async () => {
    const user = newUser()
    const first = await mail.createFolder(user, 'Again')
    await mail.deleteFolder(user, 'Again')
    const second = await mail.createFolder(user, 'Again')
    expect(second.uidValidity).toBeGreaterThan(first.uidValidity)
    expect(second.uidNext).toBe(1)
    expect(second.id).not.toBe(first.id)
  })

  it('recreating a \\Noselect placeholder revives it with a greater UIDVALIDITY and clears noselect', async () => {
    const user = newUser()
    await mail.createFolder(user, 'ph/kid')
    const original = getFolder(store, user, 'ph')
    putMessage(store, user, 'ph', `rev-${user}`)
    await mail.deleteFolder(user, 'ph')
    const revived = await mail.createFolder(user, 'ph')
    expect(revived.noselect).toBeUndefined()
    expect(revived.uidValidity).toBeGreaterThan(original.uidValidity)
    expect(revived).toMatchObject({uidNext: 1, messages: 0, size: 0})
    expect(getFolder(store, user, 'ph').noselect).toBeUndefined()
    expect(messageUids(store, revived)).toEqual([])
  })

  it('UIDVALIDITY never goes backwards across many creations', async () => {
    const user = newUser()
    let last = 0
    for (let i = 0; i < 5; i++) {
      const f = await mail.createFolder(user, 'Churn')
      expect(f.uidValidity).toBeGreaterThan(last)
      last = f.uidValidity
      await mail.deleteFolder(user, 'Churn')
    }
  })

  it('deleting a folder releases blob refs: a blob shared by two folders survives one deletion, not both', async () => {
    const user = newUser()
    await mail.createFolder(user, 'One')
    await mail.createFolder(user, 'Two')
    const shared = `shared-${user}`
    const own = `own-${user}`
    putMessage(store, user, 'One', shared)
    putMessage(store, user, 'One', own)
    putMessage(store, user, 'Two', shared)
    expect(store.blobInfo.get(shared)?.refs).toBe(2)
    const one = getFolder(store, user, 'One')
    expect(messageUids(store, one)).toEqual([1, 2])

    await mail.deleteFolder(user, 'One')
    expect(messageUids(store, one)).toEqual([])
    expect(store.blobInfo.get(shared)?.refs).toBe(1)
    expect(store.blobs.get(shared)?.toString()).toContain('Subject: ' + shared)
    expect(store.blobInfo.get(own)).toBeUndefined()
    expect(store.blobs.get(own)).toBeUndefined()

    await mail.deleteFolder(user, 'Two')
    expect(store.blobInfo.get(shared)).toBeUndefined()
    expect(store.blobs.get(shared)).toBeUndefined()
  })
})

describe('renameFolder', () => {
  it('renames a folder, keeping id, uidValidity, uidNext and messages', async () => {
    const user = newUser()
    await mail.createFolder(user, 'Old')
    putMessage(store, user, 'Old', `ren-${user}`)
    const before = getFolder(store, user, 'Old')
    const after = await mail.renameFolder(user, 'Old', 'New')
    expect(after).toEqual({...before, name: 'New'})
    expect(await mail.folder(user, 'Old')).toBeUndefined()
    expect(getFolder(store, user, 'New')).toEqual({...before, name: 'New'})
    expect(messageUids(store, after)).toEqual([1])
  })

  it('carries children along, each keeping its identity', async () => {
    const user = newUser()
    await mail.createFolder(user, 'src/a/deep')
    await mail.createFolder(user, 'src/b')
    await mail.createFolder(user, 'src-sibling') // shares the prefix but is not a child
    await mail.createFolder(user, 'srcX')
    const before = Object.fromEntries((await mail.folders(user)).map((f) => [f.name, f]))
    await mail.renameFolder(user, 'src', 'dst')
    const after = await names(user)
    expect(after.filter((n) => n.startsWith('src'))).toEqual(['src-sibling', 'srcX'])
    expect(after.filter((n) => n.startsWith('dst'))).toEqual(['dst', 'dst/a', 'dst/a/deep', 'dst/b'])
    for (const [oldName, newName] of [
      ['src', 'dst'],
      ['src/a', 'dst/a'],
      ['src/a/deep', 'dst/a/deep'],
      ['src/b', 'dst/b'],
    ] as const) {
      const f = getFolder(store, user, newName)
      const was = before[oldName]!
      expect([f.id, f.uidValidity, f.uidNext]).toEqual([was.id, was.uidValidity, was.uidNext])
    }
  })

  it('creates missing parents of the new name', async () => {
    const user = newUser()
    await mail.createFolder(user, 'Flat')
    await mail.renameFolder(user, 'Flat', 'x/y/Flat')
    expect((await names(user)).filter((n) => n.startsWith('x'))).toEqual(['x', 'x/y', 'x/y/Flat'])
  })

  it('fails with exists when the new name exists (also for the same name)', async () => {
    const user = newUser()
    await mail.createFolder(user, 'A1')
    await mail.createFolder(user, 'B1')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'A1', 'B1'))).toBe('exists')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'A1', 'A1'))).toBe('exists')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'A1', 'inbox'))).toBe('exists')
    expect(await names(user)).toContain('A1')
  })

  it('fails with not-found when the folder is missing', async () => {
    const user = newUser()
    expect(await codeOfAsync(() => mail.renameFolder(user, 'Missing', 'Other'))).toBe('not-found')
    expect(await mail.folder(user, 'Other')).toBeUndefined()
  })

  it('refuses to rename a folder into its own child', async () => {
    const user = newUser()
    await mail.createFolder(user, 'box/kid')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'box', 'box/kid/box'))).toBe('invalid')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'box', 'box/new'))).toBe('invalid')
    expect((await names(user)).filter((n) => n.startsWith('box'))).toEqual(['box', 'box/kid'])
  })

  it('refuses invalid names', async () => {
    const user = newUser()
    await mail.createFolder(user, 'Valid')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'Valid', '../bob/INBOX'))).toBe('invalid')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'Valid', 'a//b'))).toBe('invalid')
    expect(await codeOfAsync(() => mail.renameFolder(user, 'Valid', ''))).toBe('invalid')
    expect(await mail.folder(user, 'Valid')).toBeDefined()
  })

  it('renaming INBOX moves its messages to the new name and leaves INBOX empty with a new UIDVALIDITY', async () => {
    const user = newUser()
    await mail.createFolder(user, 'INBOX/keep')
    const b1 = `in1-${user}`
    const b2 = `in2-${user}`
    putMessage(store, user, INBOX, b1)
    putMessage(store, user, INBOX, b2)
    const inbox = getFolder(store, user, 'INBOX')
    expect(inbox).toMatchObject({messages: 2, uidNext: 3})

    const moved = await mail.renameFolder(user, 'inbox', 'Old Inbox')
    expect(moved).toMatchObject({name: 'Old Inbox', id: inbox.id, uidValidity: inbox.uidValidity, uidNext: 3, messages: 2, size: inbox.size})
    expect(messageUids(store, moved)).toEqual([1, 2])
    expect(store.messages.get([moved.id, 1])?.blobId).toBe(b1)

    const fresh = getFolder(store, user, 'INBOX')
    expect(fresh.uidValidity).toBeGreaterThan(inbox.uidValidity)
    expect(fresh.id).not.toBe(inbox.id)
    expect(fresh).toMatchObject({uidNext: 1, messages: 0, unseen: 0, size: 0})
    expect(messageUids(store, fresh)).toEqual([])
    // INBOX's inferiors are unaffected
    expect(await mail.folder(user, 'INBOX/keep')).toBeDefined()
    expect(await mail.folder(user, 'Old Inbox/keep')).toBeUndefined()
    // blobs are untouched by a rename
    expect(store.blobInfo.get(b1)?.refs).toBe(1)
    expect(await usageOf(user)).toEqual({messages: 2, size: inbox.size})
  })

  it('renames a \\Noselect placeholder with its children', async () => {
    const user = newUser()
    await mail.createFolder(user, 'hold/k')
    await mail.deleteFolder(user, 'hold')
    await mail.renameFolder(user, 'hold', 'held')
    expect(getFolder(store, user, 'held').noselect).toBe(true)
    expect(await mail.folder(user, 'held/k')).toBeDefined()
    expect(await mail.folder(user, 'hold/k')).toBeUndefined()
  })
})

describe('subscriptions, usage and removal', () => {
  it('setSubscribed toggles the flag; subscribing a missing folder is not-found', async () => {
    const user = newUser()
    await mail.subscribe(user, 'Junk', false)
    expect(getFolder(store, user, 'Junk').subscribed).toBe(false)
    await mail.subscribe(user, 'Junk', true)
    expect(getFolder(store, user, 'Junk').subscribed).toBe(true)
    expect(await codeOfAsync(() => mail.subscribe(user, 'Nope', true))).toBe('not-found')
    // only INBOX is case-insensitive
    expect(await codeOfAsync(() => mail.subscribe(user, 'junk', true))).toBe('not-found')
    await mail.subscribe(user, 'inbox', false)
    expect(getFolder(store, user, 'INBOX').subscribed).toBe(false)
  })

  it('usageOf sums messages and sizes over all folders', async () => {
    const user = newUser()
    putMessage(store, user, 'INBOX', `u1-${user}`, 'a'.repeat(100))
    putMessage(store, user, 'Sent', `u2-${user}`, 'b'.repeat(50))
    expect(await usageOf(user)).toEqual({messages: 2, size: 150})
  })

  it('removeAllFolders removes every folder (also non-BMP names) and releases their blobs', async () => {
    const user = newUser()
    await mail.createFolder(user, 'deep/er')
    await mail.createFolder(user, '🗂 Files')
    const blob = `all-${user}`
    putMessage(store, user, 'INBOX', blob)
    putMessage(store, user, 'deep/er', blob)
    putMessage(store, user, '🗂 Files', `emoji-all-${user}`)
    store.transact(() => removeAllFolders(store, user))
    expect(await names(user)).toEqual([])
    expect([...store.mailboxes.getKeys()].filter((k) => k[0] === user)).toEqual([])
    expect(store.blobInfo.get(blob)).toBeUndefined()
    expect(store.blobs.get(blob)).toBeUndefined()
    expect(store.blobs.get(`emoji-all-${user}`)).toBeUndefined()
  })
})

describe('renaming INBOX into its own hierarchy', () => {
  it('is allowed (RFC 3501 §6.3.5): INBOX/old gets the messages, INBOX starts empty', async () => {
    const user = newUser()
    putMessage(store, user, 'INBOX', `inbox-sub-${user}`)
    const before = store.mailboxes.get([user, 'INBOX'])!
    const moved = await mail.renameFolder(user, 'INBOX', 'INBOX/old')
    expect(moved).toMatchObject({name: 'INBOX/old', id: before.id, uidValidity: before.uidValidity, messages: 1})
    const inbox = store.mailboxes.get([user, 'INBOX'])!
    expect(inbox.messages).toBe(0)
    expect(inbox.uidValidity).toBeGreaterThan(before.uidValidity)
  })
})
