import {describe, expect, it} from 'vitest'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import {MailboxViews} from '../../src/mailstore/mailbox-view.js'
import {normalizeFlags} from '../../src/mailstore/flags.js'
import type {AppendMessage, FlagsRequest} from '../../src/store/backend.js'
import {mailboxMessagesRange} from '../../src/store/keys.js'
import {createDefaultFolders, getFolder} from '../../src/store/lmdb-folders.js'
import type {MailboxRecord, MessageRecord} from '../../src/store/records.js'
import type {Store} from '../../src/store/store.js'
import {codeOf, codeOfAsync} from '../helpers/errors.js'
import {tempStore} from '../helpers/store.js'

const store = tempStore()
const {mail} = store
let userSeq = 0

/** as the mailstore actor calls `mail.setFlags`: the client's flags made canonical first */
const setFlags = (_: Store, req: FlagsRequest) => mail.setFlags({...req, flags: normalizeFlags(req.flags)})

/** as the mailstore actor calls `mail.append`: flags made canonical and the message analyzed before the commit */
async function appendMessage(_: Store, req: {user: string; folder: string} & Omit<AppendMessage, 'analysis'>) {
  const {user, folder, ...m} = req
  const change = await mail.append({user, folder, messages: [{...m, flags: normalizeFlags(m.flags), analysis: analyzeMessage(m.raw)}]})
  return {uidValidity: change.folder.uidValidity, uid: change.appended![0]!.uid, change}
}

/** a fresh user (record + default folders) per test, so tests do not see each other's messages */
function newUser(quota = 0): string {
  const user = `ops${++userSeq}@example.com`
  store.transact(() => {
    store.users.putSync(user, {address: user, passwordHash: '', quota, disabled: false, createdAt: 0, updatedAt: 0})
    createDefaultFolders(store, user)
  })
  return user
}

const message = (subject: string, body = 'hello') => Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}\r\n`)

/** appends a message and returns its UID */
async function add(user: string, folder = 'INBOX', flags: string[] = [], subject = 'x', body = 'hello'): Promise<number> {
  return (await appendMessage(store, {user, folder, raw: message(subject, body), flags})).uid
}

const folder = (user: string, name = 'INBOX') => getFolder(store, user, name)
const recordsOf = (f: MailboxRecord): MessageRecord[] => [...store.messages.getRange(mailboxMessagesRange(f.id)).map(({value}) => value)]
const record = (f: MailboxRecord, uid: number) => store.messages.get([f.id, uid])
const refs = (blobId: string) => store.blobInfo.get(blobId)?.refs

/** the folder's counters agree with its message entries */
function expectCounters(f: MailboxRecord): void {
  const current = store.mailboxes.get([f.user, f.name])!
  const records = recordsOf(current)
  expect(current.messages, 'messages').toBe(records.length)
  expect(current.unseen, 'unseen').toBe(records.filter((r) => !r.flags.includes('\\Seen')).length)
  expect(current.size, 'size').toBe(records.reduce((n, r) => n + r.size, 0))
  expect(current.highestModseq, 'highestModseq').toBeGreaterThanOrEqual(Math.max(0, ...records.map((r) => r.modseq)))
  if (records.length) expect(current.uidNext).toBeGreaterThan(records[records.length - 1]!.uid)
}

/** changes a stored message entry behind everybody's back (no MODSEQ, no folder update): shows whether a view was reloaded */
function plantSentinel(f: MailboxRecord, uid: number): void {
  store.transact(() => store.messages.putSync([f.id, uid], {...record(f, uid)!, size: 424242}))
}

describe('normalizeFlags', () => {
  it('system flags in their usual case, keywords as given, no duplicates', () => {
    expect(normalizeFlags(['\\seen', '\\SEEN', '\\answered', '\\FLAGGED', '\\Deleted', '\\draft'])).toEqual(['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'])
    expect(normalizeFlags(['Work', 'work', 'WORK', '$Forwarded', '$forwarded'])).toEqual(['Work', '$Forwarded'])
    expect(normalizeFlags([])).toEqual([])
  })

  it('drops \\Recent (a session property)', () => {
    expect(normalizeFlags(['\\Recent', '\\recent', '\\Seen'])).toEqual(['\\Seen'])
  })

  it('refuses unknown system flags', () => {
    for (const flag of ['\\Unknown', '\\*', '\\', '\\Seenx']) expect(codeOf(() => normalizeFlags([flag])), flag).toBe('invalid')
  })
})

describe('setFlags', () => {
  it('add: only messages whose flags change get a new MODSEQ; unseen follows \\Seen', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user, 'INBOX', ['\\Seen'])
    const c = await add(user)
    const before = folder(user)
    expect(before.unseen).toBe(2)
    const change = await setFlags(store, {user, mailboxId: before.id, uids: [a, b, c], mode: 'add', flags: ['\\seen']})
    expect(change.modseqBefore).toBe(before.highestModseq)
    expect(change.updated!.map((r) => r.uid)).toEqual([a, c])
    expect(change.updated!.map((r) => r.modseq)).toEqual([before.highestModseq + 1, before.highestModseq + 2])
    expect(change.folder).toMatchObject({highestModseq: before.highestModseq + 2, unseen: 0})
    expect(folder(user)).toEqual(change.folder)
    expect(record(before, a)!.flags).toEqual(['\\Seen'])
    expect(record(before, b)!.modseq).toBeLessThanOrEqual(before.highestModseq)
    expectCounters(before)
  })

  it('add keeps existing flags and does not duplicate (case-insensitive keywords)', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['work', '\\Flagged'])
    const f = folder(user)
    let change = await setFlags(store, {user, mailboxId: f.id, uids: [a], mode: 'add', flags: ['WORK', '\\FLAGGED']})
    expect(change.updated).toEqual([])
    expect(change.folder).toEqual(f)
    change = await setFlags(store, {user, mailboxId: f.id, uids: [a], mode: 'add', flags: ['\\Answered', 'Later']})
    expect(change.updated!.map((r) => r.flags)).toEqual([['work', '\\Flagged', '\\Answered', 'Later']])
  })

  it('remove: case-insensitive; unseen goes up when \\Seen goes', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['\\Seen', 'Work', '\\Flagged'])
    const b = await add(user, 'INBOX', ['\\Seen'])
    const c = await add(user)
    const f = folder(user)
    expect(f.unseen).toBe(1)
    const change = await setFlags(store, {user, mailboxId: f.id, uids: [a, b, c], mode: 'remove', flags: ['\\SEEN', 'work']})
    expect(change.updated!.map((r) => [r.uid, r.flags])).toEqual([
      [a, ['\\Flagged']],
      [b, []],
    ])
    expect(change.folder.unseen).toBe(3)
    expectCounters(f)
  })

  it('replace: sets exactly the given flags; the same set in another order is no change', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['\\Seen', 'x'])
    const b = await add(user, 'INBOX', ['\\Flagged', 'y'])
    const f = folder(user)
    let change = await setFlags(store, {user, mailboxId: f.id, uids: [a, b], mode: 'replace', flags: ['y', '\\flagged']})
    expect(change.updated!.map((r) => r.uid)).toEqual([a])
    expect(record(f, a)!.flags).toEqual(['y', '\\Flagged'])
    expect(change.folder.unseen).toBe(2)
    change = await setFlags(store, {user, mailboxId: f.id, uids: [a, b], mode: 'replace', flags: []})
    expect(change.updated!.map((r) => r.flags)).toEqual([[], []])
    expectCounters(f)
  })

  it('\\Recent is ignored; an unknown system flag is refused and changes nothing', async () => {
    const user = newUser()
    const a = await add(user)
    const f = folder(user)
    const change = await setFlags(store, {user, mailboxId: f.id, uids: [a], mode: 'add', flags: ['\\Recent']})
    expect(change.updated).toEqual([])
    expect(await codeOfAsync(() => setFlags(store, {user, mailboxId: f.id, uids: [a], mode: 'add', flags: ['\\Seen', '\\Bogus']}))).toBe('invalid')
    expect(record(f, a)!.flags).toEqual([])
    expect(folder(user)).toEqual(f)
  })

  it('UIDs that do not exist are skipped; no change leaves the folder record alone', async () => {
    const user = newUser()
    const a = await add(user)
    const f = folder(user)
    const change = await setFlags(store, {user, mailboxId: f.id, uids: [a + 1, a + 100], mode: 'add', flags: ['\\Seen']})
    expect(change).toEqual({folder: f, modseqBefore: f.highestModseq, updated: [], modified: []})
  })

  it('unchangedSince: messages changed after that MODSEQ are left alone and reported as modified', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user)
    const f = folder(user)
    const first = await setFlags(store, {user, mailboxId: f.id, uids: [b], mode: 'add', flags: ['\\Flagged']})
    const since = f.highestModseq
    const change = await setFlags(store, {user, mailboxId: f.id, uids: [a, b], mode: 'add', flags: ['\\Answered'], unchangedSince: since})
    expect(change.modified).toEqual([b])
    expect(change.updated!.map((r) => r.uid)).toEqual([a])
    expect(first.updated![0]!.modseq).toBeGreaterThan(since)
  })

  it('the same UID twice is changed once', async () => {
    const user = newUser()
    const a = await add(user)
    const f = folder(user)
    const change = await setFlags(store, {user, mailboxId: f.id, uids: [a, a], mode: 'add', flags: ['\\Seen']})
    expect(change.updated).toHaveLength(1)
    expect(change.folder.unseen).toBe(0)
    expect(change.folder.highestModseq).toBe(f.highestModseq + 1)
    expectCounters(f)
  })

  it('a folder that does not exist (or is \\Noselect) is not-found', async () => {
    const user = newUser()
    expect(await codeOfAsync(() => setFlags(store, {user, mailboxId: 999999, uids: [1], mode: 'add', flags: ['\\Seen']}))).toBe('not-found')
    await mail.createFolder(user, 'P/child')
    const p = folder(user, 'P')
    await mail.deleteFolder(user, 'P')
    expect(await codeOfAsync(() => setFlags(store, {user, mailboxId: p.id, uids: [1], mode: 'add', flags: ['\\Seen']}))).toBe('not-found')
    // another user's folder id is not found either
    const other = newUser()
    const mine = folder(user)
    expect(await codeOfAsync(() => setFlags(store, {user: other, mailboxId: mine.id, uids: [1], mode: 'add', flags: ['\\Seen']}))).toBe('not-found')
  })
})

describe('expungeMessages', () => {
  it('onlyDeleted: removes the \\Deleted messages, keeps the counters right, releases their blobs', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['\\Deleted'])
    const b = await add(user, 'INBOX', ['\\Seen'])
    const c = await add(user, 'INBOX', ['\\Deleted', '\\Seen'])
    const f = folder(user)
    const blobs = [a, b, c].map((uid) => record(f, uid)!.blobId)
    expect(blobs.map(refs)).toEqual([1, 1, 1])
    const change = await mail.expunge({user, mailboxId: f.id, onlyDeleted: true})
    expect(change.expunged).toEqual([a, c])
    expect(change.modseqBefore).toBe(f.highestModseq)
    expect(change.folder).toMatchObject({messages: 1, unseen: 0, size: record(f, b)!.size, highestModseq: f.highestModseq + 1})
    expect(folder(user)).toEqual(change.folder)
    expect(recordsOf(f).map((r) => r.uid)).toEqual([b])
    expect(blobs.map(refs)).toEqual([undefined, 1, undefined])
    expect(store.blobs.get(blobs[0]!)).toBeUndefined()
    expect(store.blobs.get(blobs[1]!)).toBeDefined()
    expectCounters(f)
  })

  it('onlyDeleted with a UID list: only the listed \\Deleted messages', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['\\Deleted'])
    const b = await add(user, 'INBOX', ['\\Deleted'])
    const c = await add(user)
    const f = folder(user)
    const change = await mail.expunge({user, mailboxId: f.id, uids: [c, b, 99], onlyDeleted: true})
    expect(change.expunged).toEqual([b])
    expect(recordsOf(f).map((r) => r.uid)).toEqual([a, c])
    expectCounters(f)
  })

  it('onlyDeleted false (POP3 DELE): removes the listed messages whatever their flags, in UID order', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user, 'INBOX', ['\\Seen'])
    const c = await add(user)
    const f = folder(user)
    const change = await mail.expunge({user, mailboxId: f.id, uids: [c, a], onlyDeleted: false})
    expect(change.expunged).toEqual([a, c])
    expect(change.folder).toMatchObject({messages: 1, unseen: 0})
    expect(recordsOf(f).map((r) => r.uid)).toEqual([b])
    expectCounters(f)
  })

  it('onlyDeleted false without a list empties the folder', async () => {
    const user = newUser()
    await add(user)
    await add(user, 'INBOX', ['\\Seen'])
    const f = folder(user)
    const change = await mail.expunge({user, mailboxId: f.id, onlyDeleted: false})
    expect(change.expunged).toHaveLength(2)
    expect(change.folder).toMatchObject({messages: 0, unseen: 0, size: 0})
    expect(recordsOf(f)).toEqual([])
    // UIDs are not reused
    expect(change.folder.uidNext).toBe(f.uidNext)
  })

  it('nothing to expunge: no new MODSEQ', async () => {
    const user = newUser()
    await add(user)
    const f = folder(user)
    const change = await mail.expunge({user, mailboxId: f.id, onlyDeleted: true})
    expect(change.expunged).toEqual([])
    expect(change.folder).toEqual(f)
    expect(folder(user)).toEqual(f)
  })

  it('a blob shared with another folder survives until its last entry goes', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['\\Deleted'])
    const inbox = folder(user)
    const blobId = record(inbox, a)!.blobId
    const {pairs} = await mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Archive', move: false})
    expect(refs(blobId)).toBe(2)
    await mail.expunge({user, mailboxId: inbox.id, onlyDeleted: true})
    expect(refs(blobId)).toBe(1)
    expect(store.blobs.get(blobId)).toBeDefined()
    await mail.expunge({user, mailboxId: folder(user, 'Archive').id, uids: [pairs[0]![1]], onlyDeleted: false})
    expect(refs(blobId)).toBeUndefined()
    expect(store.blobs.get(blobId)).toBeUndefined()
  })

  it('a blob delivered to two users keeps the other user’s reference', async () => {
    const one = newUser()
    const two = newUser()
    const raw = message('to both')
    const result = await mail.deliver({localRaw: raw, analysis: analyzeMessage(raw), mailFrom: 'x@example.com', rcptTo: [one, two], local: [one, two], remote: []})
    const blobId = result.id
    expect(refs(blobId)).toBe(2)
    await mail.expunge({user: one, mailboxId: folder(one).id, onlyDeleted: false})
    expect(refs(blobId)).toBe(1)
    expect(recordsOf(folder(two))).toHaveLength(1)
  })

  it('the same UID listed twice is removed once (counters and blob references too)', async () => {
    const user = newUser()
    const a = await add(user)
    const f = folder(user)
    const blobId = record(f, a)!.blobId
    // a second reference from another folder, which must survive
    await mail.copy({user, mailboxId: f.id, uids: [a], to: 'Archive', move: false})
    expect(refs(blobId)).toBe(2)
    const change = await mail.expunge({user, mailboxId: f.id, uids: [a, a], onlyDeleted: false})
    expect(change.expunged).toEqual([a])
    expect(change.folder).toMatchObject({messages: 0, unseen: 0, size: 0})
    expect(refs(blobId)).toBe(1)
    expect(store.blobs.get(blobId)).toBeDefined()
  })

  it('a folder that does not exist is not-found', async () => {
    const user = newUser()
    expect(await codeOfAsync(() => mail.expunge({user, mailboxId: 999998, onlyDeleted: true}))).toBe('not-found')
  })
})

describe('copyMessages', () => {
  it('COPY: new entries share the blobs (one more reference each); the source stays', async () => {
    const user = newUser()
    const when = Date.UTC(2020, 1, 2, 3, 4, 5)
    const a = (await appendMessage(store, {user, folder: 'INBOX', raw: message('a'), flags: ['\\Seen', 'Work'], internalDate: when})).uid
    const b = await add(user, 'INBOX', [], 'b')
    const inbox = folder(user)
    const archive = folder(user, 'Archive')
    const result = await mail.copy({user, mailboxId: inbox.id, uids: [b, a], to: 'Archive', move: false})
    expect(result.uidValidity).toBe(archive.uidValidity)
    expect(result.pairs).toEqual([
      [a, archive.uidNext],
      [b, archive.uidNext + 1],
    ])
    expect(result.changes).toHaveLength(1)
    const [change] = result.changes
    expect(change!.folder.id).toBe(archive.id)
    expect(change!.modseqBefore).toBe(archive.highestModseq)
    expect(change!.appended!.map((r) => r.uid)).toEqual([archive.uidNext, archive.uidNext + 1])
    const src = record(inbox, a)!
    const copy = record(archive, archive.uidNext)!
    expect(copy).toMatchObject({blobId: src.blobId, flags: ['\\Seen', 'Work'], internalDate: when, size: src.size})
    expect(refs(src.blobId)).toBe(2)
    expect(refs(record(inbox, b)!.blobId)).toBe(2)
    expect(recordsOf(inbox).map((r) => r.uid)).toEqual([a, b])
    expect(folder(user)).toEqual(inbox)
    expect(folder(user, 'Archive')).toMatchObject({messages: 2, unseen: 1, size: inbox.size})
    expectCounters(archive)
  })

  it('COPY with duplicate and missing UIDs: each existing message once, in UID order', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user)
    const inbox = folder(user)
    const result = await mail.copy({user, mailboxId: inbox.id, uids: [b, a, b, 77], to: 'Trash', move: false})
    expect(result.pairs.map(([s]) => s)).toEqual([a, b])
    expect(refs(record(inbox, b)!.blobId)).toBe(2)
    expectCounters(folder(user, 'Trash'))
  })

  it('MOVE: the sources are removed in the same commit; blob references stay the same', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['\\Seen'])
    const b = await add(user)
    const c = await add(user)
    const inbox = folder(user)
    const junk = folder(user, 'Junk')
    const blobA = record(inbox, a)!.blobId
    const result = await mail.copy({user, mailboxId: inbox.id, uids: [a, c], to: 'Junk', move: true})
    expect(result.pairs).toEqual([
      [a, junk.uidNext],
      [c, junk.uidNext + 1],
    ])
    expect(result.changes.map((ch) => ch.folder.id)).toEqual([junk.id, inbox.id])
    expect(result.changes[1]!.expunged).toEqual([a, c])
    expect(result.changes[1]!.modseqBefore).toBe(inbox.highestModseq)
    expect(recordsOf(inbox).map((r) => r.uid)).toEqual([b])
    expect(recordsOf(junk).map((r) => r.flags)).toEqual([['\\Seen'], []])
    expect(refs(blobA)).toBe(1)
    expect(folder(user)).toMatchObject({messages: 1, unseen: 1})
    expect(folder(user, 'Junk')).toMatchObject({messages: 2, unseen: 1})
    expectCounters(inbox)
    expectCounters(junk)
  })

  it('COPY into the same folder: new UIDs, shared blobs', async () => {
    const user = newUser()
    const a = await add(user)
    const inbox = folder(user)
    const result = await mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'inbox', move: false})
    expect(result.pairs).toEqual([[a, a + 1]])
    expect(recordsOf(inbox).map((r) => r.uid)).toEqual([a, a + 1])
    expect(refs(record(inbox, a)!.blobId)).toBe(2)
    expectCounters(inbox)
  })

  it('MOVE into the same folder: the messages get new UIDs, the counters and references stay right', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user, 'INBOX', ['\\Seen'])
    const inbox = folder(user)
    const blobA = record(inbox, a)!.blobId
    const result = await mail.copy({user, mailboxId: inbox.id, uids: [a, b], to: 'INBOX', move: true})
    expect(result.pairs).toEqual([
      [a, b + 1],
      [b, b + 2],
    ])
    expect(recordsOf(inbox).map((r) => r.uid)).toEqual([b + 1, b + 2])
    expect(folder(user)).toMatchObject({messages: 2, unseen: 1, size: inbox.size, uidNext: b + 3})
    expect(refs(blobA)).toBe(1)
    // the two changes chain: the second starts where the first ended
    expect(result.changes[1]!.modseqBefore).toBe(result.changes[0]!.folder.highestModseq)
    expect(folder(user)).toEqual(result.changes[1]!.folder)
    expectCounters(inbox)
  })

  it('to a folder that does not exist: not-found, nothing changed', async () => {
    const user = newUser()
    const a = await add(user)
    const inbox = folder(user)
    const blobId = record(inbox, a)!.blobId
    expect(await codeOfAsync(() => mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Nope', move: true}))).toBe('not-found')
    expect(refs(blobId)).toBe(1)
    expect(folder(user)).toEqual(inbox)
    expect(await codeOfAsync(() => mail.copy({user, mailboxId: 999997, uids: [a], to: 'Archive', move: false}))).toBe('not-found')
  })

  it('to a \\Noselect placeholder: invalid', async () => {
    const user = newUser()
    const a = await add(user)
    await mail.createFolder(user, 'Hold/child')
    await mail.deleteFolder(user, 'Hold')
    expect(await codeOfAsync(() => mail.copy({user, mailboxId: folder(user).id, uids: [a], to: 'Hold', move: false}))).toBe('invalid')
  })

  it('COPY over the quota is refused with nothing changed; MOVE (no growth) is allowed', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', [], 'q', 'x'.repeat(500))
    const inbox = folder(user)
    const size = inbox.size
    store.transact(() => store.users.putSync(user, {...store.users.get(user)!, quota: size + 100}))
    const blobId = record(inbox, a)!.blobId
    expect(await codeOfAsync(() => mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Archive', move: false}))).toBe('quota')
    expect(refs(blobId)).toBe(1)
    expect(folder(user, 'Archive').messages).toBe(0)
    const moved = await mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Archive', move: true})
    expect(moved.pairs).toHaveLength(1)
    expect(folder(user, 'Archive').size).toBe(size)
  })
})

describe('appendMessage', () => {
  it('stores the blob with its analysis and one entry; flags normalized, \\Recent dropped, internal date kept', async () => {
    const user = newUser()
    const raw = message('appended', 'body')
    const when = Date.UTC(1999, 11, 31, 23, 59, 59)
    const before = folder(user, 'Drafts')
    const result = await appendMessage(store, {user, folder: 'Drafts', raw, flags: ['\\draft', '\\RECENT', 'Work', 'work', '\\seen'], internalDate: when})
    expect(result.uidValidity).toBe(before.uidValidity)
    expect(result.uid).toBe(before.uidNext)
    expect(result.change.modseqBefore).toBe(before.highestModseq)
    const entry = record(before, result.uid)!
    expect(entry).toMatchObject({flags: ['\\Draft', 'Work', '\\Seen'], internalDate: when, size: raw.length, modseq: before.highestModseq + 1})
    expect(result.change.appended).toEqual([entry])
    expect(store.blobs.get(entry.blobId)).toEqual(raw)
    const info = store.blobInfo.get(entry.blobId)!
    expect(info.refs).toBe(1)
    expect(info.envelope?.subject).toBe('appended')
    expect(info.structure?.type).toBe('text')
    expect(folder(user, 'Drafts')).toMatchObject({messages: 1, unseen: 0, size: raw.length, uidNext: before.uidNext + 1})
  })

  it('without a date: now', async () => {
    const user = newUser()
    const t0 = Date.now()
    const {uid} = await appendMessage(store, {user, folder: 'INBOX', raw: message('now'), flags: []})
    const entry = record(folder(user), uid)!
    expect(entry.internalDate).toBeGreaterThanOrEqual(t0)
    expect(entry.internalDate).toBeLessThanOrEqual(Date.now())
    expect(folder(user).unseen).toBe(1)
  })

  it('an unknown system flag is refused before anything is stored', async () => {
    const user = newUser()
    const blobsBefore = store.blobs.getKeysCount()
    expect(await codeOfAsync(() => appendMessage(store, {user, folder: 'INBOX', raw: message('bad'), flags: ['\\Nope']}))).toBe('invalid')
    expect(folder(user).messages).toBe(0)
    expect(store.blobs.getKeysCount()).toBe(blobsBefore)
  })

  it('a missing folder is not-found, a placeholder invalid; nothing is stored', async () => {
    const user = newUser()
    const blobsBefore = store.blobs.getKeysCount()
    expect(await codeOfAsync(() => appendMessage(store, {user, folder: 'Missing', raw: message('m'), flags: []}))).toBe('not-found')
    await mail.createFolder(user, 'PH/kid')
    await mail.deleteFolder(user, 'PH')
    expect(await codeOfAsync(() => appendMessage(store, {user, folder: 'PH', raw: message('m'), flags: []}))).toBe('invalid')
    expect(store.blobs.getKeysCount()).toBe(blobsBefore)
  })

  it('over the quota: refused, nothing stored; exactly at the quota: accepted', async () => {
    const raw = message('quota', 'y'.repeat(200))
    const user = newUser(raw.length * 2)
    await appendMessage(store, {user, folder: 'INBOX', raw, flags: []})
    await appendMessage(store, {user, folder: 'Sent', raw, flags: []})
    const blobsBefore = store.blobs.getKeysCount()
    expect(await codeOfAsync(() => appendMessage(store, {user, folder: 'INBOX', raw: Buffer.from('x'), flags: []}))).toBe('quota')
    expect(store.blobs.getKeysCount()).toBe(blobsBefore)
    expect(folder(user).messages).toBe(1)
  })

  it('UIDs and MODSEQs go up with every append', async () => {
    const user = newUser()
    const first = await appendMessage(store, {user, folder: 'INBOX', raw: message('1'), flags: []})
    const second = await appendMessage(store, {user, folder: 'INBOX', raw: message('2'), flags: []})
    expect(second.uid).toBe(first.uid + 1)
    expect(second.change.modseqBefore).toBe(first.change.folder.highestModseq)
    expect(second.change.folder.highestModseq).toBeGreaterThan(first.change.folder.highestModseq)
  })
})

describe('MailboxViews', () => {
  it('get: every entry in UID order; cached while the folder record matches', async () => {
    const user = newUser()
    const uids = [await add(user), await add(user), await add(user)]
    const views = new MailboxViews(mail)
    const view = await views.get(folder(user))
    expect(view.records.map((r) => r.uid)).toEqual(uids)
    expect(view.folder).toEqual(folder(user))
    plantSentinel(folder(user), uids[0]!)
    // unchanged folder record: the cached view, without the planted change
    const again = await views.get(folder(user))
    expect(again.records).toBe(view.records)
    expect(again.records[0]!.size).not.toBe(424242)
  })

  it('a view goes stale when another writer changed the folder, and is reloaded', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user)
    const views = new MailboxViews(mail)
    await views.get(folder(user))
    // another process (no apply): flags change, a message arrives
    await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'add', flags: ['\\Seen']})
    const c = await add(user)
    const view = await views.get(folder(user))
    expect(view.records.map((r) => [r.uid, r.flags])).toEqual([
      [a, ['\\Seen']],
      [b, []],
      [c, []],
    ])
    expect(view.folder).toEqual(folder(user))
  })

  it('a view goes stale when another writer expunged (count and MODSEQ changed)', async () => {
    const user = newUser()
    await add(user, 'INBOX', ['\\Deleted'])
    const b = await add(user)
    const views = new MailboxViews(mail)
    await views.get(folder(user))
    await mail.expunge({user, mailboxId: folder(user).id, onlyDeleted: true})
    expect((await views.get(folder(user))).records.map((r) => r.uid)).toEqual([b])
  })

  it('apply replays appended, updated and expunged entries without reloading', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user)
    const views = new MailboxViews(mail)
    const first = await views.get(folder(user))
    plantSentinel(folder(user), b)

    const appended = await appendMessage(store, {user, folder: 'INBOX', raw: message('new'), flags: ['\\Flagged']})
    views.apply(appended.change)
    const flagged = await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'add', flags: ['\\Seen']})
    views.apply(flagged)
    await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'add', flags: ['\\Deleted']}).then((ch) => views.apply(ch))
    const expunged = await mail.expunge({user, mailboxId: folder(user).id, onlyDeleted: true})
    views.apply(expunged)

    const view = await views.get(folder(user))
    expect(view.folder).toEqual(folder(user))
    expect(view.records.map((r) => [r.uid, r.flags])).toEqual([
      [b, []],
      [appended.uid, ['\\Flagged']],
    ])
    // replayed, not reloaded: the planted change is not there
    expect(view.records[0]!.size).not.toBe(424242)
    // the view a session got earlier is untouched
    expect(first.records.map((r) => r.uid)).toEqual([a, b])
    expect(first.records[0]!.flags).toEqual([])
  })

  it('apply of a MOVE within one folder (two chained changes)', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user)
    const views = new MailboxViews(mail)
    await views.get(folder(user))
    plantSentinel(folder(user), b)
    const {changes} = await mail.copy({user, mailboxId: folder(user).id, uids: [a], to: 'INBOX', move: true})
    changes.forEach((c) => views.apply(c))
    const view = await views.get(folder(user))
    expect(view.records.map((r) => r.uid)).toEqual([b, b + 1])
    expect(view.records[0]!.size).not.toBe(424242)
  })

  it('a change that does not start from the cached state drops the view', async () => {
    const user = newUser()
    const a = await add(user)
    const b = await add(user)
    const views = new MailboxViews(mail)
    await views.get(folder(user))
    // a change the views never heard of, then one they do hear of
    await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'add', flags: ['\\Seen']})
    plantSentinel(folder(user), b)
    const later = await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'add', flags: ['\\Flagged']})
    views.apply(later)
    const view = await views.get(folder(user))
    expect(view.records[0]!.flags).toEqual(['\\Seen', '\\Flagged'])
    // reloaded from the store: the planted size shows
    expect(view.records[1]!.size).toBe(424242)
  })

  it('keywords: found at load, grown by replayed changes (one set while nothing new), kept after their last message', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX', ['$Old', '\\Seen'])
    const views = new MailboxViews(mail)
    const loaded = await views.get(folder(user))
    expect([...loaded.keywords]).toEqual(['$Old'])
    // a change without a new keyword keeps the very same set (sessions compare sets by identity)
    views.apply(await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'add', flags: ['\\Flagged', '$Old']}))
    const flagged = await views.get(folder(user))
    expect(flagged.keywords).toBe(loaded.keywords)
    views.apply((await appendMessage(store, {user, folder: 'INBOX', raw: message('kw'), flags: ['$New']})).change)
    views.apply(await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'replace', flags: ['$Other']}))
    const grown = await views.get(folder(user))
    expect([...grown.keywords]).toEqual(['$Old', '$New', '$Other'])
    expect([...loaded.keywords]).toEqual(['$Old'])
    // a reload finds only the keywords messages carry
    await setFlags(store, {user, mailboxId: folder(user).id, uids: [a], mode: 'replace', flags: []})
    expect([...(await views.get(folder(user))).keywords]).toEqual(['$New'])
  })

  it('apply for a folder without a cached view does nothing', async () => {
    const user = newUser()
    await add(user)
    const views = new MailboxViews(mail)
    const change = await appendMessage(store, {user, folder: 'INBOX', raw: message('n'), flags: []})
    views.apply(change.change)
    expect((await views.get(folder(user))).records).toHaveLength(2)
  })

  it('least recently used views are dropped beyond the entry budget', async () => {
    const user = newUser()
    const a = await add(user, 'INBOX')
    await add(user, 'INBOX')
    await add(user, 'Sent')
    await add(user, 'Sent')
    const views = new MailboxViews(mail, 3)
    await views.get(folder(user))
    await views.get(folder(user, 'Sent'))
    plantSentinel(folder(user), a)
    // INBOX's view was dropped to make room for Sent's: reloaded
    expect((await views.get(folder(user))).records[0]!.size).toBe(424242)
  })

  it('forget drops a view', async () => {
    const user = newUser()
    const a = await add(user)
    const views = new MailboxViews(mail)
    await views.get(folder(user))
    plantSentinel(folder(user), a)
    views.forget(folder(user).id)
    expect((await views.get(folder(user))).records[0]!.size).toBe(424242)
  })

  it('a folder recreated under the same name has another id, so another view', async () => {
    const user = newUser()
    await mail.createFolder(user, 'Tmp')
    await add(user, 'Tmp')
    const views = new MailboxViews(mail)
    expect((await views.get(folder(user, 'Tmp'))).records).toHaveLength(1)
    await mail.deleteFolder(user, 'Tmp')
    await mail.createFolder(user, 'Tmp')
    expect((await views.get(folder(user, 'Tmp'))).records).toEqual([])
  })
})
