import {describe, expect, it} from 'vitest'
import {MailboxError} from '../../src/errors.js'
import {DEFAULT_FOLDERS, INBOX, normalizeFolderName} from '../../src/mailstore/folder-rules.js'
import {
  createDefaultFolders,
  createFolder,
  deleteFolder,
  findFolder,
  getFolder,
  listFolders,
  removeAllFolders,
  renameFolder,
  setSubscribed,
  usageOf,
} from '../../src/mailstore/folders.js'
import {mailboxMessagesRange} from '../../src/store/keys.js'
import type {MailboxRecord} from '../../src/store/records.js'
import type {Store} from '../../src/store/store.js'
import {tempStore} from '../helpers/store.js'
import {codeOf} from '../helpers/errors.js'

const store = tempStore()
let userSeq = 0
/** a fresh user (with the default folders) per test, so tests do not see each other's folders */
function newUser(): string {
  const user = `user${++userSeq}@example.com`
  store.transact(() => createDefaultFolders(store, user))
  return user
}


const names = (user: string) => listFolders(store, user).map((f) => f.name)

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

  it('accepts 512 bytes and refuses 513', () => {
    expect(normalizeFolderName('x'.repeat(512))).toBe('x'.repeat(512))
    expect(codeOf(() => normalizeFolderName('é'.repeat(257)))).toBe('invalid') // 514 bytes
  })
})

describe('default folders', () => {
  it('a new user has INBOX, Sent, Drafts, Trash, Junk and Archive with their special-use', () => {
    const user = newUser()
    const folders = listFolders(store, user)
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

  it('UIDVALIDITY is at least the creation time in seconds', () => {
    const before = Math.floor(Date.now() / 1000)
    const user = newUser()
    for (const f of listFolders(store, user)) expect(f.uidValidity).toBeGreaterThanOrEqual(before)
  })

  it('createDefaultFolders is idempotent and keeps existing folders as they are', () => {
    const user = newUser()
    const before = listFolders(store, user)
    store.transact(() => createDefaultFolders(store, user))
    expect(listFolders(store, user)).toEqual(before)
  })

  it('folders of one user are invisible to another, including a user whose address extends the first', () => {
    store.transact(() => createDefaultFolders(store, 'pat@example.com'))
    store.transact(() => createDefaultFolders(store, 'pat@example.com.au'))
    createFolder(store, 'pat@example.com.au', 'OnlyAu')
    expect(names('pat@example.com')).not.toContain('OnlyAu')
    expect(names('pat@example.com.au')).toContain('OnlyAu')
    expect(names('nobody@example.com')).toEqual([])
  })
})

describe('createFolder', () => {
  it('creates a folder, subscribed and empty, and lists it after INBOX in name order', () => {
    const user = newUser()
    const f = createFolder(store, user, 'Projects')
    expect(f).toMatchObject({user, name: 'Projects', uidNext: 1, messages: 0, subscribed: true})
    expect(getFolder(store, user, 'Projects')).toEqual(f)
    expect(names(user)).toEqual(['INBOX', 'Archive', 'Drafts', 'Junk', 'Projects', 'Sent', 'Trash'])
  })

  it('create a/b/c creates the missing parents a and a/b', () => {
    const user = newUser()
    const c = createFolder(store, user, 'a/b/c')
    expect(c.name).toBe('a/b/c')
    const a = getFolder(store, user, 'a')
    const ab = getFolder(store, user, 'a/b')
    expect(a.noselect).toBeUndefined()
    expect(ab.noselect).toBeUndefined()
    expect(new Set([a.id, ab.id, c.id]).size).toBe(3)
    expect(names(user).filter((n) => n.startsWith('a'))).toEqual(['a', 'a/b', 'a/b/c'])
  })

  it('create with an existing parent leaves the parent untouched', () => {
    const user = newUser()
    const a = createFolder(store, user, 'a')
    createFolder(store, user, 'a/b')
    expect(getFolder(store, user, 'a')).toEqual(a)
  })

  it('creating an existing folder fails with exists (also INBOX in any case)', () => {
    const user = newUser()
    createFolder(store, user, 'Dup')
    expect(codeOf(() => createFolder(store, user, 'Dup'))).toBe('exists')
    expect(codeOf(() => createFolder(store, user, 'Dup/'))).toBe('exists')
    expect(codeOf(() => createFolder(store, user, 'inbox'))).toBe('exists')
    expect(codeOf(() => createFolder(store, user, 'Sent'))).toBe('exists')
  })

  it('INBOX is case-insensitive: Inbox/x is created as INBOX/x', () => {
    const user = newUser()
    expect(createFolder(store, user, 'Inbox/x').name).toBe('INBOX/x')
    expect(findFolder(store, user, 'inbox/x')?.name).toBe('INBOX/x')
    expect(findFolder(store, user, 'INBOX/X')).toBeUndefined() // only the INBOX level is case-insensitive
    expect(names(user).filter((n) => n.toUpperCase().startsWith('INBOX'))).toEqual(['INBOX', 'INBOX/x'])
  })

  it('a folder named with non-BMP characters is listed and counted', () => {
    const user = newUser()
    createFolder(store, user, '😀 Fun')
    createFolder(store, user, 'Zeta')
    expect(names(user)).toContain('😀 Fun')
    expect(names(user)).toContain('Zeta')
    putMessage(store, user, '😀 Fun', `emoji-${user}`, 'x'.repeat(10))
    expect(usageOf(store, user)).toEqual({messages: 1, size: 10})
  })

  it('refuses invalid names and creates nothing', () => {
    const user = newUser()
    const before = names(user)
    for (const bad of ['', 'a//b', '../bob/INBOX', 'INBOX/../x', 'a\u0001', '*', 'x/%']) {
      expect(codeOf(() => createFolder(store, user, bad))).toBe('invalid')
    }
    expect(names(user)).toEqual(before)
  })

  it('records the special-use it is given', () => {
    const user = newUser()
    expect(createFolder(store, user, 'Old Mail', '\\Archive').specialUse).toBe('\\Archive')
  })

  it('getFolder of a missing folder fails with not-found; findFolder returns undefined', () => {
    const user = newUser()
    expect(findFolder(store, user, 'Nope')).toBeUndefined()
    expect(codeOf(() => getFolder(store, user, 'Nope'))).toBe('not-found')
  })
})

describe('deleteFolder', () => {
  it('deletes a leaf folder', () => {
    const user = newUser()
    createFolder(store, user, 'Leaf')
    deleteFolder(store, user, 'Leaf')
    expect(findFolder(store, user, 'Leaf')).toBeUndefined()
    expect(names(user)).not.toContain('Leaf')
  })

  it('INBOX cannot be deleted, in any case', () => {
    const user = newUser()
    expect(codeOf(() => deleteFolder(store, user, 'INBOX'))).toBe('conflict')
    expect(codeOf(() => deleteFolder(store, user, 'inbox'))).toBe('conflict')
    expect(findFolder(store, user, 'INBOX')).toBeDefined()
  })

  it('an inferior of INBOX can be deleted', () => {
    const user = newUser()
    createFolder(store, user, 'INBOX/sub')
    deleteFolder(store, user, 'inbox/sub')
    expect(findFolder(store, user, 'INBOX/sub')).toBeUndefined()
  })

  it('deleting a missing folder fails with not-found', () => {
    const user = newUser()
    expect(codeOf(() => deleteFolder(store, user, 'Ghost'))).toBe('not-found')
  })

  it('deleting a folder with children keeps the children and leaves a \\Noselect placeholder', () => {
    const user = newUser()
    createFolder(store, user, 'p/c1')
    createFolder(store, user, 'p/c2/g')
    putMessage(store, user, 'p', `ph-${user}`)
    const childBefore = getFolder(store, user, 'p/c1')
    deleteFolder(store, user, 'p')
    const p = getFolder(store, user, 'p')
    expect(p).toMatchObject({name: 'p', noselect: true, messages: 0, unseen: 0, size: 0})
    expect(messageUids(store, p)).toEqual([])
    expect(getFolder(store, user, 'p/c1')).toEqual(childBefore)
    expect(names(user).filter((n) => n.startsWith('p'))).toEqual(['p', 'p/c1', 'p/c2', 'p/c2/g'])
  })

  it('a placeholder that still has children cannot be deleted; once they are gone it can', () => {
    const user = newUser()
    createFolder(store, user, 'q/child')
    deleteFolder(store, user, 'q')
    expect(codeOf(() => deleteFolder(store, user, 'q'))).toBe('conflict')
    expect(getFolder(store, user, 'q').noselect).toBe(true)
    deleteFolder(store, user, 'q/child')
    deleteFolder(store, user, 'q')
    expect(findFolder(store, user, 'q')).toBeUndefined()
  })

  it('a sibling whose name only shares a prefix is not a child', () => {
    const user = newUser()
    createFolder(store, user, 'r')
    createFolder(store, user, 'r2/x')
    createFolder(store, user, 'r-other')
    deleteFolder(store, user, 'r')
    expect(findFolder(store, user, 'r')).toBeUndefined() // removed, not left as a placeholder
    expect(findFolder(store, user, 'r2/x')).toBeDefined()
  })

  it("a folder's children are not confused with another user's folders", () => {
    const user = newUser()
    createFolder(store, user, 'zz')
    const next = `${user.split('@')[0]}0@example.com` // sorts right after `user`
    store.transact(() => createDefaultFolders(store, next))
    createFolder(store, next, 'zz/child')
    deleteFolder(store, user, 'zz')
    expect(findFolder(store, user, 'zz')).toBeUndefined()
  })

  it('recreating a deleted folder gets a strictly greater UIDVALIDITY', () => {
    const user = newUser()
    const first = createFolder(store, user, 'Again')
    deleteFolder(store, user, 'Again')
    const second = createFolder(store, user, 'Again')
    expect(second.uidValidity).toBeGreaterThan(first.uidValidity)
    expect(second.uidNext).toBe(1)
    expect(second.id).not.toBe(first.id)
  })

  it('recreating a \\Noselect placeholder revives it with a greater UIDVALIDITY and clears noselect', () => {
    const user = newUser()
    createFolder(store, user, 'ph/kid')
    const original = getFolder(store, user, 'ph')
    putMessage(store, user, 'ph', `rev-${user}`)
    deleteFolder(store, user, 'ph')
    const revived = createFolder(store, user, 'ph')
    expect(revived.noselect).toBeUndefined()
    expect(revived.uidValidity).toBeGreaterThan(original.uidValidity)
    expect(revived).toMatchObject({uidNext: 1, messages: 0, size: 0})
    expect(getFolder(store, user, 'ph').noselect).toBeUndefined()
    expect(messageUids(store, revived)).toEqual([])
  })

  it('UIDVALIDITY never goes backwards across many creations', () => {
    const user = newUser()
    let last = 0
    for (let i = 0; i < 5; i++) {
      const f = createFolder(store, user, 'Churn')
      expect(f.uidValidity).toBeGreaterThan(last)
      last = f.uidValidity
      deleteFolder(store, user, 'Churn')
    }
  })

  it('deleting a folder releases blob refs: a blob shared by two folders survives one deletion, not both', () => {
    const user = newUser()
    createFolder(store, user, 'One')
    createFolder(store, user, 'Two')
    const shared = `shared-${user}`
    const own = `own-${user}`
    putMessage(store, user, 'One', shared)
    putMessage(store, user, 'One', own)
    putMessage(store, user, 'Two', shared)
    expect(store.blobInfo.get(shared)?.refs).toBe(2)
    const one = getFolder(store, user, 'One')
    expect(messageUids(store, one)).toEqual([1, 2])

    deleteFolder(store, user, 'One')
    expect(messageUids(store, one)).toEqual([])
    expect(store.blobInfo.get(shared)?.refs).toBe(1)
    expect(store.blobs.get(shared)?.toString()).toContain('Subject: ' + shared)
    expect(store.blobInfo.get(own)).toBeUndefined()
    expect(store.blobs.get(own)).toBeUndefined()

    deleteFolder(store, user, 'Two')
    expect(store.blobInfo.get(shared)).toBeUndefined()
    expect(store.blobs.get(shared)).toBeUndefined()
  })
})

describe('renameFolder', () => {
  it('renames a folder, keeping id, uidValidity, uidNext and messages', () => {
    const user = newUser()
    createFolder(store, user, 'Old')
    putMessage(store, user, 'Old', `ren-${user}`)
    const before = getFolder(store, user, 'Old')
    const after = renameFolder(store, user, 'Old', 'New')
    expect(after).toEqual({...before, name: 'New'})
    expect(findFolder(store, user, 'Old')).toBeUndefined()
    expect(getFolder(store, user, 'New')).toEqual({...before, name: 'New'})
    expect(messageUids(store, after)).toEqual([1])
  })

  it('carries children along, each keeping its identity', () => {
    const user = newUser()
    createFolder(store, user, 'src/a/deep')
    createFolder(store, user, 'src/b')
    createFolder(store, user, 'src-sibling') // shares the prefix but is not a child
    createFolder(store, user, 'srcX')
    const before = Object.fromEntries(listFolders(store, user).map((f) => [f.name, f]))
    renameFolder(store, user, 'src', 'dst')
    const after = names(user)
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

  it('creates missing parents of the new name', () => {
    const user = newUser()
    createFolder(store, user, 'Flat')
    renameFolder(store, user, 'Flat', 'x/y/Flat')
    expect(names(user).filter((n) => n.startsWith('x'))).toEqual(['x', 'x/y', 'x/y/Flat'])
  })

  it('fails with exists when the new name exists (also for the same name)', () => {
    const user = newUser()
    createFolder(store, user, 'A1')
    createFolder(store, user, 'B1')
    expect(codeOf(() => renameFolder(store, user, 'A1', 'B1'))).toBe('exists')
    expect(codeOf(() => renameFolder(store, user, 'A1', 'A1'))).toBe('exists')
    expect(codeOf(() => renameFolder(store, user, 'A1', 'inbox'))).toBe('exists')
    expect(names(user)).toContain('A1')
  })

  it('fails with not-found when the folder is missing', () => {
    const user = newUser()
    expect(codeOf(() => renameFolder(store, user, 'Missing', 'Other'))).toBe('not-found')
    expect(findFolder(store, user, 'Other')).toBeUndefined()
  })

  it('refuses to rename a folder into its own child', () => {
    const user = newUser()
    createFolder(store, user, 'box/kid')
    expect(codeOf(() => renameFolder(store, user, 'box', 'box/kid/box'))).toBe('invalid')
    expect(codeOf(() => renameFolder(store, user, 'box', 'box/new'))).toBe('invalid')
    expect(names(user).filter((n) => n.startsWith('box'))).toEqual(['box', 'box/kid'])
  })

  it('refuses invalid names', () => {
    const user = newUser()
    createFolder(store, user, 'Valid')
    expect(codeOf(() => renameFolder(store, user, 'Valid', '../bob/INBOX'))).toBe('invalid')
    expect(codeOf(() => renameFolder(store, user, 'Valid', 'a//b'))).toBe('invalid')
    expect(codeOf(() => renameFolder(store, user, 'Valid', ''))).toBe('invalid')
    expect(findFolder(store, user, 'Valid')).toBeDefined()
  })

  it('renaming INBOX moves its messages to the new name and leaves INBOX empty with a new UIDVALIDITY', () => {
    const user = newUser()
    createFolder(store, user, 'INBOX/keep')
    const b1 = `in1-${user}`
    const b2 = `in2-${user}`
    putMessage(store, user, INBOX, b1)
    putMessage(store, user, INBOX, b2)
    const inbox = getFolder(store, user, 'INBOX')
    expect(inbox).toMatchObject({messages: 2, uidNext: 3})

    const moved = renameFolder(store, user, 'inbox', 'Old Inbox')
    expect(moved).toMatchObject({name: 'Old Inbox', id: inbox.id, uidValidity: inbox.uidValidity, uidNext: 3, messages: 2, size: inbox.size})
    expect(messageUids(store, moved)).toEqual([1, 2])
    expect(store.messages.get([moved.id, 1])?.blobId).toBe(b1)

    const fresh = getFolder(store, user, 'INBOX')
    expect(fresh.uidValidity).toBeGreaterThan(inbox.uidValidity)
    expect(fresh.id).not.toBe(inbox.id)
    expect(fresh).toMatchObject({uidNext: 1, messages: 0, unseen: 0, size: 0})
    expect(messageUids(store, fresh)).toEqual([])
    // INBOX's inferiors are unaffected
    expect(findFolder(store, user, 'INBOX/keep')).toBeDefined()
    expect(findFolder(store, user, 'Old Inbox/keep')).toBeUndefined()
    // blobs are untouched by a rename
    expect(store.blobInfo.get(b1)?.refs).toBe(1)
    expect(usageOf(store, user)).toEqual({messages: 2, size: inbox.size})
  })

  it('renames a \\Noselect placeholder with its children', () => {
    const user = newUser()
    createFolder(store, user, 'hold/k')
    deleteFolder(store, user, 'hold')
    renameFolder(store, user, 'hold', 'held')
    expect(getFolder(store, user, 'held').noselect).toBe(true)
    expect(findFolder(store, user, 'held/k')).toBeDefined()
    expect(findFolder(store, user, 'hold/k')).toBeUndefined()
  })
})

describe('subscriptions, usage and removal', () => {
  it('setSubscribed toggles the flag; a missing folder is not-found', () => {
    const user = newUser()
    setSubscribed(store, user, 'Junk', false)
    expect(getFolder(store, user, 'Junk').subscribed).toBe(false)
    setSubscribed(store, user, 'Junk', true)
    expect(getFolder(store, user, 'Junk').subscribed).toBe(true)
    expect(codeOf(() => setSubscribed(store, user, 'Nope', true))).toBe('not-found')
    // only INBOX is case-insensitive
    expect(codeOf(() => setSubscribed(store, user, 'junk', false))).toBe('not-found')
    setSubscribed(store, user, 'inbox', false)
    expect(getFolder(store, user, 'INBOX').subscribed).toBe(false)
  })

  it('usageOf sums messages and sizes over all folders', () => {
    const user = newUser()
    putMessage(store, user, 'INBOX', `u1-${user}`, 'a'.repeat(100))
    putMessage(store, user, 'Sent', `u2-${user}`, 'b'.repeat(50))
    expect(usageOf(store, user)).toEqual({messages: 2, size: 150})
  })

  it('removeAllFolders removes every folder (also non-BMP names) and releases their blobs', () => {
    const user = newUser()
    createFolder(store, user, 'deep/er')
    createFolder(store, user, '🗂 Files')
    const blob = `all-${user}`
    putMessage(store, user, 'INBOX', blob)
    putMessage(store, user, 'deep/er', blob)
    putMessage(store, user, '🗂 Files', `emoji-all-${user}`)
    store.transact(() => removeAllFolders(store, user))
    expect(names(user)).toEqual([])
    expect([...store.mailboxes.getKeys()].filter((k) => k[0] === user)).toEqual([])
    expect(store.blobInfo.get(blob)).toBeUndefined()
    expect(store.blobs.get(blob)).toBeUndefined()
    expect(store.blobs.get(`emoji-all-${user}`)).toBeUndefined()
  })
})

describe('renaming INBOX into its own hierarchy', () => {
  it('is allowed (RFC 3501 §6.3.5): INBOX/old gets the messages, INBOX starts empty', () => {
    const user = newUser()
    putMessage(store, user, 'INBOX', `inbox-sub-${user}`)
    const before = store.mailboxes.get([user, 'INBOX'])!
    const moved = renameFolder(store, user, 'INBOX', 'INBOX/old')
    expect(moved).toMatchObject({name: 'INBOX/old', id: before.id, uidValidity: before.uidValidity, messages: 1})
    const inbox = store.mailboxes.get([user, 'INBOX'])!
    expect(inbox.messages).toBe(0)
    expect(inbox.uidValidity).toBeGreaterThan(before.uidValidity)
  })
})
