/**
 * The contract of `store.mail` (src/store/backend.ts MailStore), as one test body that runs
 * against any backend: a test file calls `mailContract(name, open)` with a function that opens a
 * fresh, empty store of its kind (LMDB in a temp dir; PostgreSQL in a fresh schema). It uses
 * nothing but the interface (users come from `store.directory`), so every backend is held to the
 * LMDB store's rules (src/mailstore/*.ts and their unit tests): the folder tree of RFC 3501 §6.3,
 * flags and MODSEQs, expunges, COPY/MOVE, APPEND, delivery with blob references counted, quota,
 * and refusals that write nothing. It does not pin what a backend may choose: whether several
 * messages changed by one STORE share one MODSEQ, or whether `changesSince` can answer without a
 * whole reload.
 */
import {describe, expect, it} from 'vitest'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import type {DeliveryInput, DirectoryStore, FolderChange, MailStore} from '../../src/store/backend.js'
import type {MailboxRecord, MessageRecord} from '../../src/store/records.js'
import {codeOfAsync} from './errors.js'

export interface MailBackend {
  directory: DirectoryStore
  mail: MailStore
}

export interface OpenedMail {
  backend: MailBackend
  /** a second, independent handle on the same store (another process or node would have one) */
  reopen(): Promise<MailBackend & {close(): Promise<void>}>
  close(): Promise<void>
}

export const DOMAIN = 'example.com'

export const message = (subject: string, body = 'hello') => Buffer.from(`From: a@example.net\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}\r\n`)

/** what the tests do with one store: its two areas and short forms of the common calls */
export function mailOf({directory, mail}: MailBackend) {
  let seq = 0
  const t = {
    directory,
    mail,
    /** a new user with the default folders */
    user: async (quota = 0, maxMessages = 0) => (await directory.addUser({address: `u${++seq}@${DOMAIN}`, passwordHash: '', quota, maxMessages})).address,
    folder: async (user: string, name = 'INBOX'): Promise<MailboxRecord> => {
      const f = await mail.folder(user, name)
      if (!f) throw new Error(`no folder ${name}`)
      return f
    },
    append: async (user: string, folder = 'INBOX', flags: string[] = [], raw = message('x'), internalDate?: number): Promise<FolderChange> =>
      mail.append({user, folder, messages: [{raw, flags, analysis: analyzeMessage(raw), ...(internalDate !== undefined ? {internalDate} : {})}]}),
    /** appends and returns the UID */
    add: async (user: string, folder = 'INBOX', flags: string[] = [], raw = message('x')): Promise<number> => (await t.append(user, folder, flags, raw)).appended![0]!.uid,
    /** CREATEs each, in order */
    create: async (user: string, ...names: string[]) => {
      for (const n of names) await mail.createFolder(user, n)
    },
    uids: async (f: MailboxRecord) => (await mail.messages(f.id)).map((m) => m.uid),
    record: async (f: MailboxRecord, uid: number): Promise<MessageRecord> => {
      const m = await mail.message(f.id, uid)
      if (!m) throw new Error(`no message ${uid}`)
      return m
    },
    refs: async (blobId: string) => (await mail.blobInfo(blobId))?.refs,
    /** how many blobs the store holds (every blob is recent since 0) */
    blobCount: async () => (await mail.recentBlobs(0, 100_000)).length,
    names: async (user: string) => (await mail.folders(user)).map((f) => f.name),
    deliver: (input: Omit<DeliveryInput, 'analysis' | 'mailFrom' | 'rcptTo' | 'localRaw'> & Partial<DeliveryInput>) => {
      const localRaw = input.localRaw ?? message('delivered')
      return mail.deliver({localRaw, analysis: analyzeMessage(localRaw), mailFrom: 'sender@example.net', rcptTo: [...input.local, ...input.remote], ...input})
    },
    /** the folder's counters agree with its messages */
    expectCounters: async (f: MailboxRecord) => {
      const current = (await mail.folders(f.user)).find((x) => x.id === f.id)!
      const records = await mail.messages(f.id)
      expect(current.messages, 'messages').toBe(records.length)
      expect(current.unseen, 'unseen').toBe(records.filter((r) => !r.flags.includes('\\Seen')).length)
      expect(current.size, 'size').toBe(records.reduce((n, r) => n + r.size, 0))
      expect(current.highestModseq, 'highestModseq').toBeGreaterThanOrEqual(Math.max(0, ...records.map((r) => r.modseq)))
      if (records.length) expect(current.uidNext).toBeGreaterThan(records[records.length - 1]!.uid)
    },
  }
  return t
}

type T = ReturnType<typeof mailOf>

export function mailContract(name: string, open: () => Promise<OpenedMail>): void {
  const withStore = (title: string, body: (t: T, opened: OpenedMail) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await opened.backend.directory.addDomain({record: {name: DOMAIN, createdAt: Date.now()}, keys: []})
        await body(mailOf(opened.backend), opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.mail folders on ${name}`, () => {
    withStore('a new user has the default folders, INBOX first then by name, each a fresh identity', async (t) => {
      const before = Math.floor(Date.now() / 1000)
      const user = await t.user()
      const folders = await t.mail.folders(user)
      expect(folders.map((f) => [f.name, f.specialUse ?? null])).toEqual([
        ['INBOX', null],
        ['Archive', '\\Archive'],
        ['Drafts', '\\Drafts'],
        ['Junk', '\\Junk'],
        ['Sent', '\\Sent'],
        ['Trash', '\\Trash'],
      ])
      for (const f of folders) {
        expect(f).toMatchObject({user, uidNext: 1, messages: 0, unseen: 0, size: 0, subscribed: true, highestModseq: 1})
        expect(f.noselect).toBeUndefined()
        expect(f.uidValidity).toBeGreaterThanOrEqual(before)
      }
      expect(new Set(folders.map((f) => f.id)).size).toBe(6)
      expect(new Set(folders.map((f) => f.uidValidity)).size).toBe(6)
      expect(await t.mail.folder(user, 'inbox')).toEqual(folders[0])
      expect(await t.mail.folder(user, 'Nope')).toBeUndefined()
      expect(await codeOfAsync(t.mail.folder(user, 'a//b'))).toBe('invalid')
      expect(await t.mail.folderById(user, folders[1]!.id)).toEqual(folders[1])
      expect(await t.mail.usage(user)).toEqual({messages: 0, size: 0, folders: 6})
    })

    withStore('CREATE makes missing parents, refuses what exists (INBOX in any case) and invalid names, records special-use', async (t) => {
      const user = await t.user()
      const c = await t.mail.createFolder(user, 'a/b/c')
      expect(c).toMatchObject({user, name: 'a/b/c', uidNext: 1, messages: 0, subscribed: true, highestModseq: 1})
      const a = await t.folder(user, 'a')
      const ab = await t.folder(user, 'a/b')
      expect(a.noselect).toBeUndefined()
      expect(new Set([a.id, ab.id, c.id]).size).toBe(3)
      expect(await t.names(user)).toEqual(['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash', 'a', 'a/b', 'a/b/c'])
      await t.mail.createFolder(user, 'a/d')
      expect(await t.folder(user, 'a')).toEqual(a)
      for (const dup of ['a/b', 'a/b/', 'inbox', 'Sent']) expect(await codeOfAsync(t.mail.createFolder(user, dup)), dup).toBe('exists')
      const names = await t.names(user)
      for (const bad of ['', 'a//b', '../bob/INBOX', 'INBOX/../x', 'a\u0001', '*', 'x/%']) expect(await codeOfAsync(t.mail.createFolder(user, bad)), bad).toBe('invalid')
      expect(await t.names(user)).toEqual(names)
      expect((await t.mail.createFolder(user, 'Inbox/x')).name).toBe('INBOX/x')
      expect((await t.mail.createFolder(user, 'Old Mail', '\\Archive')).specialUse).toBe('\\Archive')
      expect((await t.mail.createFolder(user, '😀 Fun')).name).toBe('😀 Fun')
      // another user's tree is another's
      const other = await t.user()
      expect(await t.names(other)).toEqual(['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash'])
    })

    withStore('DELETE: a leaf goes, INBOX cannot, a missing one is not-found; recreating gets a greater UIDVALIDITY', async (t) => {
      const user = await t.user()
      const first = await t.mail.createFolder(user, 'Again')
      await t.add(user, 'Again')
      expect(await t.mail.deleteFolder(user, 'Again')).toMatchObject({id: first.id, name: 'Again', messages: 1})
      expect(await t.mail.folder(user, 'Again')).toBeUndefined()
      expect(await t.blobCount()).toBe(0)
      const second = await t.mail.createFolder(user, 'Again')
      expect(second.uidValidity).toBeGreaterThan(first.uidValidity)
      expect(second.id).not.toBe(first.id)
      expect(second.uidNext).toBe(1)
      expect(await codeOfAsync(t.mail.deleteFolder(user, 'inbox'))).toBe('conflict')
      expect(await codeOfAsync(t.mail.deleteFolder(user, 'Ghost'))).toBe('not-found')
      await t.mail.createFolder(user, 'INBOX/sub')
      await t.mail.deleteFolder(user, 'inbox/sub')
      expect(await t.mail.folder(user, 'INBOX/sub')).toBeUndefined()
      // a sibling sharing a prefix is not a child
      await t.create(user, 'r', 'r2/x', 'r-other')
      await t.mail.deleteFolder(user, 'r')
      expect(await t.mail.folder(user, 'r')).toBeUndefined()
    })

    withStore('DELETE of a folder with children leaves a \\Noselect placeholder; CREATE revives it with a new UIDVALIDITY', async (t) => {
      const user = await t.user()
      await t.create(user, 'p/c1', 'p/c2/g')
      const p = await t.folder(user, 'p')
      await t.add(user, 'p')
      const child = await t.folder(user, 'p/c1')
      await t.mail.deleteFolder(user, 'p')
      expect(await t.folder(user, 'p')).toMatchObject({name: 'p', noselect: true, messages: 0, unseen: 0, size: 0})
      expect(await t.mail.messages(p.id)).toEqual([])
      expect(await t.blobCount()).toBe(0)
      expect(await t.folder(user, 'p/c1')).toEqual(child)
      expect(await codeOfAsync(t.mail.folderById(user, p.id))).toBe('not-found')
      expect(await codeOfAsync(t.mail.deleteFolder(user, 'p'))).toBe('conflict')
      expect(await codeOfAsync(t.append(user, 'p'))).toBe('invalid')
      const revived = await t.mail.createFolder(user, 'p')
      expect(revived.noselect).toBeUndefined()
      expect(revived.uidValidity).toBeGreaterThan(p.uidValidity)
      expect(revived).toMatchObject({uidNext: 1, messages: 0, size: 0})
      expect((await t.append(user, 'p')).appended![0]!.uid).toBe(1)
      // once the children are gone, a placeholder can go
      await t.mail.createFolder(user, 'q/child')
      await t.mail.deleteFolder(user, 'q')
      await t.mail.deleteFolder(user, 'q/child')
      await t.mail.deleteFolder(user, 'q')
      expect(await t.mail.folder(user, 'q')).toBeUndefined()
    })

    withStore('RENAME carries the inferiors with their identities, makes parents, refuses clashes', async (t) => {
      const user = await t.user()
      await t.create(user, 'src/a/deep', 'src/b', 'src-sibling', 'srcX')
      await t.add(user, 'src')
      const before = new Map((await t.mail.folders(user)).map((f) => [f.name, f]))
      const renamed = await t.mail.renameFolder(user, 'src', 'x/dst')
      expect(renamed).toEqual({...before.get('src')!, name: 'x/dst'})
      const names = await t.names(user)
      expect(names.filter((n) => n.startsWith('src'))).toEqual(['src-sibling', 'srcX'])
      expect(names.filter((n) => n.startsWith('x'))).toEqual(['x', 'x/dst', 'x/dst/a', 'x/dst/a/deep', 'x/dst/b'])
      for (const [from, to] of [
        ['src/a', 'x/dst/a'],
        ['src/a/deep', 'x/dst/a/deep'],
        ['src/b', 'x/dst/b'],
      ] as const) {
        const f = await t.folder(user, to)
        expect([f.id, f.uidValidity, f.uidNext]).toEqual([before.get(from)!.id, before.get(from)!.uidValidity, before.get(from)!.uidNext])
      }
      expect(await t.uids(renamed)).toEqual([1])
      await t.mail.createFolder(user, 'B1')
      expect(await codeOfAsync(t.mail.renameFolder(user, 'srcX', 'B1'))).toBe('exists')
      expect(await codeOfAsync(t.mail.renameFolder(user, 'srcX', 'srcX'))).toBe('exists')
      expect(await codeOfAsync(t.mail.renameFolder(user, 'srcX', 'inbox'))).toBe('exists')
      expect(await codeOfAsync(t.mail.renameFolder(user, 'Missing', 'Other'))).toBe('not-found')
      expect(await codeOfAsync(t.mail.renameFolder(user, 'x', 'x/dst/x'))).toBe('invalid')
      expect(await codeOfAsync(t.mail.renameFolder(user, 'srcX', '../bob/INBOX'))).toBe('invalid')
      expect(await t.mail.folder(user, 'Other')).toBeUndefined()
      // a placeholder is renamed with its children
      await t.mail.createFolder(user, 'hold/k')
      await t.mail.deleteFolder(user, 'hold')
      await t.mail.renameFolder(user, 'hold', 'held')
      expect((await t.folder(user, 'held')).noselect).toBe(true)
      expect(await t.mail.folder(user, 'held/k')).toBeDefined()
      expect(await t.mail.folder(user, 'hold/k')).toBeUndefined()
    })

    withStore("RENAME of INBOX moves its messages to the new name; INBOX starts empty with a greater UIDVALIDITY, its inferiors stay", async (t) => {
      const user = await t.user()
      await t.mail.createFolder(user, 'INBOX/keep')
      await t.add(user)
      await t.add(user, 'INBOX', ['\\Seen'])
      const inbox = await t.folder(user)
      const moved = await t.mail.renameFolder(user, 'inbox', 'Old Inbox')
      expect(moved).toMatchObject({name: 'Old Inbox', id: inbox.id, uidValidity: inbox.uidValidity, uidNext: 3, messages: 2, unseen: 1, size: inbox.size})
      expect(await t.uids(moved)).toEqual([1, 2])
      const fresh = await t.folder(user)
      expect(fresh.uidValidity).toBeGreaterThan(inbox.uidValidity)
      expect(fresh.id).not.toBe(inbox.id)
      expect(fresh).toMatchObject({uidNext: 1, messages: 0, unseen: 0, size: 0})
      expect(await t.mail.folder(user, 'INBOX/keep')).toBeDefined()
      expect(await t.mail.folder(user, 'Old Inbox/keep')).toBeUndefined()
      expect(await t.mail.usage(user)).toMatchObject({messages: 2, size: inbox.size})
      // into its own hierarchy (RFC 3501 §6.3.5)
      await t.add(user)
      const again = await t.mail.renameFolder(user, 'INBOX', 'INBOX/old')
      expect(again).toMatchObject({name: 'INBOX/old', messages: 1, uidValidity: fresh.uidValidity})
      expect((await t.folder(user)).messages).toBe(0)
      // delivery goes to the new INBOX
      const {stored} = await t.deliver({local: [user], remote: []})
      expect(stored).toEqual([{user, folder: 'INBOX', uid: 1, uidValidity: (await t.folder(user)).uidValidity}])
    })

    withStore('SUBSCRIBE toggles the flag; subscribing a missing folder is not-found; only INBOX is case-insensitive', async (t) => {
      const user = await t.user()
      await t.mail.subscribe(user, 'Junk', false)
      expect((await t.folder(user, 'Junk')).subscribed).toBe(false)
      await t.mail.subscribe(user, 'Junk', true)
      expect((await t.folder(user, 'Junk')).subscribed).toBe(true)
      expect(await codeOfAsync(t.mail.subscribe(user, 'Nope', true))).toBe('not-found')
      expect(await codeOfAsync(t.mail.subscribe(user, 'junk', true))).toBe('not-found')
      await t.mail.subscribe(user, 'inbox', false)
      expect((await t.folder(user)).subscribed).toBe(false)
    })

    withStore('subscriptions are names: they outlive DELETE, follow RENAME, and any name can be unsubscribed', async (t) => {
      const user = await t.user()
      expect(await t.mail.subscriptions(user)).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash'])
      await t.mail.createFolder(user, 'Work/2026')
      await t.mail.subscribe(user, 'Work', false)
      await t.mail.deleteFolder(user, 'Work/2026')
      expect(await t.mail.subscriptions(user)).toContain('Work/2026')
      expect(await t.mail.subscriptions(user)).not.toContain('Work')
      await t.mail.subscribe(user, 'Work/2026', false) // the folder is gone
      expect(await t.mail.subscriptions(user)).not.toContain('Work/2026')
      await t.mail.createFolder(user, 'Old/a')
      await t.mail.renameFolder(user, 'Old', 'New')
      const names = await t.mail.subscriptions(user)
      expect(names).toEqual(expect.arrayContaining(['New', 'New/a']))
      expect(names).not.toContain('Old')
      expect(names).not.toContain('Old/a')
      // a re-created folder is subscribed (CREATE subscribes) and listed once
      await t.mail.deleteFolder(user, 'New/a')
      await t.mail.createFolder(user, 'New/a')
      expect((await t.mail.subscriptions(user)).filter((n) => n === 'New/a')).toEqual(['New/a'])
      // an unsubscribed folder renamed onto a deleted folder's subscription: the folder's state wins
      await t.mail.createFolder(user, 'Quiet')
      await t.mail.subscribe(user, 'Quiet', false)
      await t.mail.createFolder(user, 'Loud')
      await t.mail.deleteFolder(user, 'Loud')
      await t.mail.renameFolder(user, 'Quiet', 'Loud')
      expect(await t.mail.subscriptions(user)).not.toContain('Loud')
      expect((await t.folder(user, 'Loud')).subscribed).toBe(false)
    })

    withStore('folderById: a selectable folder of that user only', async (t) => {
      const user = await t.user()
      const other = await t.user()
      const inbox = await t.folder(user)
      expect(await t.mail.folderById(user, inbox.id)).toEqual(inbox)
      expect(await codeOfAsync(t.mail.folderById(other, inbox.id))).toBe('not-found')
      expect(await codeOfAsync(t.mail.folderById(user, 999_999))).toBe('not-found')
    })

    withStore('folderById follows renames and deletes, and never answers with another folder under the old name', async (t) => {
      const user = await t.user()
      const first = await t.mail.createFolder(user, 'Work')
      // asked once, so a backend that remembers where it found the id (LMDB) has a hint to go stale
      expect((await t.mail.folderById(user, first.id)).name).toBe('Work')
      await t.mail.renameFolder(user, 'Work', 'Office')
      expect(await t.mail.folderById(user, first.id)).toMatchObject({id: first.id, name: 'Office'})
      const second = await t.mail.createFolder(user, 'Work')
      expect((await t.mail.folderById(user, first.id)).name).toBe('Office')
      expect((await t.mail.folderById(user, second.id)).name).toBe('Work')
      await t.mail.deleteFolder(user, 'Office')
      expect(await codeOfAsync(t.mail.folderById(user, first.id))).toBe('not-found')
      expect((await t.mail.folderById(user, second.id)).name).toBe('Work')
    })

    withStore('folderById answers with the record as stored now, after any change to it (LMDB keeps the last decoded one while the bytes are the same)', async (t) => {
      const user = await t.user()
      const folder = await t.mail.createFolder(user, 'Work')
      expect(await t.mail.folderById(user, folder.id)).toEqual(folder)
      expect(await t.mail.folderById(user, folder.id)).toEqual(folder)
      await t.append(user, 'Work', [], message('one', 'body'))
      expect(await t.mail.folderById(user, folder.id)).toMatchObject({messages: 1, unseen: 1, uidNext: folder.uidNext + 1})
      await t.mail.subscribe(user, 'Work', false)
      expect(await t.mail.folderById(user, folder.id)).toMatchObject({messages: 1, subscribed: false})
      await t.append(user, 'Work', ['\\Seen'], message('two', 'body'))
      expect(await t.mail.folderById(user, folder.id)).toMatchObject({messages: 2, unseen: 1, uidNext: folder.uidNext + 2})
    })
  })

  describe(`store.mail messages on ${name}`, () => {
    withStore('APPEND: one blob with its analysis and one reference, the UID and MODSEQ from the folder, the counters', async (t) => {
      const user = await t.user()
      const raw = message('appended', 'body')
      const when = Date.UTC(1999, 11, 31, 23, 59, 59)
      const before = await t.folder(user, 'Drafts')
      const change = await t.append(user, 'Drafts', ['\\Draft', 'Work', '\\Seen'], raw, when)
      expect(change.modseqBefore).toBe(before.highestModseq)
      const entry = await t.record(before, before.uidNext)
      expect(entry).toMatchObject({uid: before.uidNext, flags: ['\\Draft', 'Work', '\\Seen'], internalDate: when, size: raw.length, modseq: before.highestModseq + 1})
      expect(change.appended).toEqual([entry])
      expect(change.folder).toEqual(await t.folder(user, 'Drafts'))
      expect(change.folder).toMatchObject({messages: 1, unseen: 0, size: raw.length, uidNext: before.uidNext + 1, highestModseq: before.highestModseq + 1})
      expect(await t.mail.blob(entry.blobId)).toEqual(raw)
      const info = (await t.mail.blobInfo(entry.blobId))!
      expect(info).toMatchObject({refs: 1, size: raw.length})
      expect(info.envelope?.subject).toBe('appended')
      expect(info.structure?.type).toBe('text')
      expect(info.summary?.subject).toBe('appended')
      expect(await t.mail.messages(before.id)).toEqual([entry])
      // without a date: now; no \Seen: unseen
      const t0 = Date.now()
      const second = await t.append(user, 'INBOX')
      expect(second.appended![0]!.internalDate).toBeGreaterThanOrEqual(t0)
      expect(second.folder.unseen).toBe(1)
      // UIDs and MODSEQs go up
      const third = await t.append(user, 'INBOX')
      expect(third.appended![0]!.uid).toBe(second.appended![0]!.uid + 1)
      expect(third.modseqBefore).toBe(second.folder.highestModseq)
      expect(await t.mail.messages(second.folder.id, {limit: 1})).toEqual(second.appended)
      expect(await t.mail.message(second.folder.id, 99)).toBeUndefined()
    })

    withStore('APPEND to a missing folder is not-found, to a placeholder invalid, over the quota quota: nothing stored', async (t) => {
      const raw = message('quota', 'y'.repeat(200))
      const user = await t.user(raw.length * 2)
      expect(await codeOfAsync(t.append(user, 'Missing'))).toBe('not-found')
      await t.mail.createFolder(user, 'PH/kid')
      await t.mail.deleteFolder(user, 'PH')
      expect(await codeOfAsync(t.append(user, 'PH'))).toBe('invalid')
      await t.append(user, 'INBOX', [], raw)
      await t.append(user, 'Sent', [], raw) // exactly at the quota
      expect(await codeOfAsync(t.append(user, 'INBOX', [], Buffer.from('x')))).toBe('quota')
      expect(await codeOfAsync(t.append(user, 'Missing'))).toBe('not-found')
      expect(await t.blobCount()).toBe(2)
      expect(await t.mail.usage(user)).toEqual({messages: 2, size: raw.length * 2, folders: 8})
    })

    withStore('the message limit: APPEND (one or several together) and COPY past it are quota and store nothing; a MOVE is allowed', async (t) => {
      const user = await t.user(0, 3)
      await t.add(user, 'INBOX')
      await t.add(user, 'Sent')
      const blobs = await t.blobCount()
      const many = (n: number) => t.mail.append({user, folder: 'INBOX', messages: Array.from({length: n}, (_, i) => ({raw: message(`m${i}`), flags: [], analysis: analyzeMessage(message(`m${i}`))}))})
      expect(await codeOfAsync(many(2))).toBe('quota') // 2 + 2 > 3: all or none
      expect(await t.blobCount()).toBe(blobs)
      const third = await t.add(user, 'INBOX') // exactly at the limit
      expect(await codeOfAsync(t.append(user, 'Drafts'))).toBe('quota')
      const inbox = await t.folder(user)
      expect(await codeOfAsync(t.mail.copy({user, mailboxId: inbox.id, uids: [third], to: 'Archive', move: false}))).toBe('quota')
      expect((await t.folder(user, 'Archive')).messages).toBe(0)
      await t.mail.copy({user, mailboxId: inbox.id, uids: [third], to: 'Archive', move: true})
      expect(await t.mail.usage(user)).toMatchObject({messages: 3})
      // the limit raised: room again, for exactly one more
      await t.directory.updateUser(user, {maxMessages: 4})
      await t.add(user, 'Drafts')
      expect(await codeOfAsync(t.append(user, 'Drafts'))).toBe('quota')
    })

    withStore('APPEND of several messages (MULTIAPPEND): consecutive UIDs in one commit, or nothing when they are over the quota together', async (t) => {
      const raws = [message('m1', 'a'.repeat(100)), message('m2', 'b'), message('m3', 'c')]
      const quota = raws.reduce((n, r) => n + r.length, 0)
      const user = await t.user(quota + 10)
      const before = await t.folder(user)
      const many = (rs: Buffer[], folder = 'INBOX') =>
        t.mail.append({user, folder, messages: rs.map((raw, i) => ({raw, flags: i === 1 ? ['\\Seen'] : [], analysis: analyzeMessage(raw), internalDate: Date.UTC(2020, 0, i + 1)}))})
      const change = await many(raws)
      expect(change.appended!.map((m) => [m.uid, m.size, m.flags, m.internalDate])).toEqual(raws.map((r, i) => [before.uidNext + i, r.length, i === 1 ? ['\\Seen'] : [], Date.UTC(2020, 0, i + 1)]))
      expect(change.folder).toMatchObject({messages: 3, unseen: 2, uidNext: before.uidNext + 3, highestModseq: before.highestModseq + 3})
      for (const [i, m] of change.appended!.entries()) expect(await t.mail.blob(m.blobId)).toEqual(raws[i])
      // over the quota only together: none of them, no blob left behind
      const blobs = await t.blobCount()
      expect(await codeOfAsync(many([message('n1', 'x'), message('n2', 'y'.repeat(20))]))).toBe('quota')
      expect(await codeOfAsync(many([message('n1', 'x')], 'Missing'))).toBe('not-found')
      expect(await t.blobCount()).toBe(blobs)
      expect(await t.folder(user)).toEqual(change.folder)
    })

    withStore('STORE add/remove/replace: only messages whose flags change get a new MODSEQ; unseen follows \\Seen', async (t) => {
      const user = await t.user()
      const a = await t.add(user)
      const b = await t.add(user, 'INBOX', ['\\Seen'])
      const c = await t.add(user)
      const f = await t.folder(user)
      const bBefore = await t.record(f, b)
      const change = await t.mail.setFlags({user, mailboxId: f.id, uids: [a, b, c], mode: 'add', flags: ['\\Seen']})
      expect(change.modseqBefore).toBe(f.highestModseq)
      expect(change.modified).toEqual([])
      expect(change.updated!.map((r) => [r.uid, r.flags])).toEqual([
        [a, ['\\Seen']],
        [c, ['\\Seen']],
      ])
      const modseqs = change.updated!.map((r) => r.modseq)
      expect(Math.min(...modseqs)).toBeGreaterThan(f.highestModseq)
      expect(change.folder).toMatchObject({highestModseq: Math.max(...modseqs), unseen: 0})
      expect(await t.folder(user)).toEqual(change.folder)
      expect(await t.record(f, b)).toEqual(bBefore)
      expect(await t.record(f, a)).toEqual(change.updated![0])

      // add keeps the flags there, in order, and adds no duplicate (keywords case-insensitive)
      const d = await t.add(user, 'INBOX', ['work', '\\Flagged'])
      const f2 = await t.folder(user)
      const none = await t.mail.setFlags({user, mailboxId: f2.id, uids: [d], mode: 'add', flags: ['WORK', '\\Flagged']})
      expect(none).toEqual({folder: f2, modseqBefore: f2.highestModseq, updated: [], modified: []})
      const more = await t.mail.setFlags({user, mailboxId: f2.id, uids: [d], mode: 'add', flags: ['\\Answered', 'Later']})
      expect(more.updated!.map((r) => r.flags)).toEqual([['work', '\\Flagged', '\\Answered', 'Later']])

      // remove is case-insensitive; unseen goes up when \Seen goes
      const removed = await t.mail.setFlags({user, mailboxId: f.id, uids: [a, d], mode: 'remove', flags: ['\\Seen', 'WORK']})
      expect(removed.updated!.map((r) => [r.uid, r.flags])).toEqual([
        [a, []],
        [d, ['\\Flagged', '\\Answered', 'Later']],
      ])
      expect(removed.folder.unseen).toBe(2)

      // replace sets exactly these; the same set in another order is no change
      const replaced = await t.mail.setFlags({user, mailboxId: f.id, uids: [b, d], mode: 'replace', flags: ['Later', '\\Answered', '\\Flagged']})
      expect(replaced.updated!.map((r) => [r.uid, r.flags])).toEqual([[b, ['Later', '\\Answered', '\\Flagged']]])
      expect(replaced.folder.unseen).toBe(3)
      await t.expectCounters(f)
    })

    withStore('STORE: missing UIDs skipped, a UID twice changed once, unchangedSince reports modified, gone folders not-found', async (t) => {
      const user = await t.user()
      const a = await t.add(user)
      const b = await t.add(user)
      const f = await t.folder(user)
      const skipped = await t.mail.setFlags({user, mailboxId: f.id, uids: [b + 1, b + 100], mode: 'add', flags: ['\\Seen']})
      expect(skipped).toEqual({folder: f, modseqBefore: f.highestModseq, updated: [], modified: []})
      const twice = await t.mail.setFlags({user, mailboxId: f.id, uids: [a, a], mode: 'add', flags: ['\\Seen']})
      expect(twice.updated).toHaveLength(1)
      expect(twice.folder).toMatchObject({unseen: 1, highestModseq: f.highestModseq + 1})
      const since = twice.folder.highestModseq
      const flagged = await t.mail.setFlags({user, mailboxId: f.id, uids: [b], mode: 'add', flags: ['\\Flagged']})
      expect(flagged.updated![0]!.modseq).toBeGreaterThan(since)
      const cond = await t.mail.setFlags({user, mailboxId: f.id, uids: [a, b], mode: 'add', flags: ['\\Answered'], unchangedSince: since})
      expect(cond.modified).toEqual([b])
      expect(cond.updated!.map((r) => r.uid)).toEqual([a])
      expect((await t.record(f, b)).flags).toEqual(['\\Flagged'])

      expect(await codeOfAsync(t.mail.setFlags({user, mailboxId: 999_999, uids: [1], mode: 'add', flags: ['\\Seen']}))).toBe('not-found')
      const other = await t.user()
      expect(await codeOfAsync(t.mail.setFlags({user: other, mailboxId: f.id, uids: [a], mode: 'add', flags: ['\\Seen']}))).toBe('not-found')
      await t.mail.createFolder(user, 'P/child')
      const p = await t.folder(user, 'P')
      await t.mail.deleteFolder(user, 'P')
      expect(await codeOfAsync(t.mail.setFlags({user, mailboxId: p.id, uids: [1], mode: 'add', flags: ['\\Seen']}))).toBe('not-found')
    })

    withStore('EXPUNGE: \\Deleted only (of the UIDs given), or what was named; counters, one MODSEQ, blobs released', async (t) => {
      const user = await t.user()
      const a = await t.add(user, 'INBOX', ['\\Deleted'])
      const b = await t.add(user, 'INBOX', ['\\Seen'])
      const c = await t.add(user, 'INBOX', ['\\Deleted', '\\Seen'])
      const d = await t.add(user, 'INBOX', ['\\Deleted'])
      const f = await t.folder(user)
      const blobs = await Promise.all([a, b, c, d].map(async (uid) => (await t.record(f, uid)).blobId))
      const some = await t.mail.expunge({user, mailboxId: f.id, uids: [d, c, 99], onlyDeleted: true})
      expect(some.expunged).toEqual([c, d])
      expect(some.modseqBefore).toBe(f.highestModseq)
      expect(some.folder).toMatchObject({messages: 2, unseen: 1, highestModseq: f.highestModseq + 1, uidNext: f.uidNext})
      expect(await t.folder(user)).toEqual(some.folder)
      expect(await t.refs(blobs[2]!)).toBeUndefined()
      expect(await t.mail.blob(blobs[2]!)).toBeUndefined()
      const all = await t.mail.expunge({user, mailboxId: f.id, onlyDeleted: true})
      expect(all.expunged).toEqual([a])
      expect(await t.uids(f)).toEqual([b])
      // nothing to expunge: no new MODSEQ
      const nothing = await t.mail.expunge({user, mailboxId: f.id, onlyDeleted: true})
      expect(nothing).toMatchObject({folder: all.folder, modseqBefore: all.folder.highestModseq, expunged: []})
      // POP3 DELE / message delete: whatever the flags
      const e = await t.add(user)
      const named = await t.mail.expunge({user, mailboxId: f.id, uids: [e, b, b], onlyDeleted: false})
      expect(named.expunged).toEqual([b, e])
      expect(named.folder).toMatchObject({messages: 0, unseen: 0, size: 0})
      expect(await t.blobCount()).toBe(0)
      await t.add(user)
      await t.add(user)
      const emptied = await t.mail.expunge({user, mailboxId: f.id, onlyDeleted: false})
      expect(emptied.expunged).toHaveLength(2)
      expect(emptied.folder.uidNext).toBe(e + 3)
      await t.expectCounters(f)
      expect(await codeOfAsync(t.mail.expunge({user, mailboxId: 999_998, onlyDeleted: true}))).toBe('not-found')
    })

    withStore('COPY shares the blobs (a reference each), in source UID order, each existing UID once', async (t) => {
      const user = await t.user()
      const when = Date.UTC(2020, 1, 2, 3, 4, 5)
      const a = (await t.append(user, 'INBOX', ['\\Seen', 'Work'], message('a'), when)).appended![0]!.uid
      const b = await t.add(user)
      const inbox = await t.folder(user)
      const archive = await t.folder(user, 'Archive')
      const result = await t.mail.copy({user, mailboxId: inbox.id, uids: [b, a, b, 77], to: 'Archive', move: false})
      expect(result.uidValidity).toBe(archive.uidValidity)
      expect(result.pairs).toEqual([
        [a, archive.uidNext],
        [b, archive.uidNext + 1],
      ])
      expect(result.changes).toHaveLength(1)
      const change = result.changes[0]!
      expect(change.folder.id).toBe(archive.id)
      expect(change.modseqBefore).toBe(archive.highestModseq)
      expect(change.appended!.map((r) => r.uid)).toEqual([archive.uidNext, archive.uidNext + 1])
      const src = await t.record(inbox, a)
      expect(await t.record(archive, archive.uidNext)).toMatchObject({blobId: src.blobId, flags: ['\\Seen', 'Work'], internalDate: when, size: src.size})
      expect(await t.refs(src.blobId)).toBe(2)
      expect(await t.folder(user)).toEqual(inbox)
      expect(await t.folder(user, 'Archive')).toMatchObject({messages: 2, unseen: 1, size: inbox.size})
      await t.expectCounters(archive)
      // a blob shared by two folders lives until its last message goes
      await t.mail.expunge({user, mailboxId: inbox.id, onlyDeleted: false})
      expect(await t.refs(src.blobId)).toBe(1)
      expect(await t.mail.blob(src.blobId)).toBeDefined()
      await t.mail.expunge({user, mailboxId: archive.id, onlyDeleted: false})
      expect(await t.blobCount()).toBe(0)
    })

    withStore('MOVE removes the sources in the same commit, references unchanged; within one folder the changes chain', async (t) => {
      const user = await t.user()
      const a = await t.add(user, 'INBOX', ['\\Seen'])
      const b = await t.add(user)
      const c = await t.add(user)
      const inbox = await t.folder(user)
      const junk = await t.folder(user, 'Junk')
      const blobA = (await t.record(inbox, a)).blobId
      const result = await t.mail.copy({user, mailboxId: inbox.id, uids: [a, c], to: 'Junk', move: true})
      expect(result.pairs).toEqual([
        [a, junk.uidNext],
        [c, junk.uidNext + 1],
      ])
      expect(result.changes.map((ch) => ch.folder.id)).toEqual([junk.id, inbox.id])
      expect(result.changes[1]!.expunged).toEqual([a, c])
      expect(result.changes[1]!.modseqBefore).toBe(inbox.highestModseq)
      expect(await t.uids(inbox)).toEqual([b])
      expect((await t.mail.messages(junk.id)).map((r) => r.flags)).toEqual([['\\Seen'], []])
      expect(await t.refs(blobA)).toBe(1)
      expect(await t.folder(user)).toMatchObject({messages: 1, unseen: 1})
      await t.expectCounters(inbox)
      await t.expectCounters(junk)
      // within one folder: new UIDs, counters and references right
      const d = await t.add(user, 'INBOX', ['\\Seen'])
      const f = await t.folder(user)
      const same = await t.mail.copy({user, mailboxId: f.id, uids: [b, d], to: 'inbox', move: true})
      expect(same.pairs).toEqual([
        [b, d + 1],
        [d, d + 2],
      ])
      expect(await t.uids(f)).toEqual([d + 1, d + 2])
      expect(same.changes[1]!.modseqBefore).toBe(same.changes[0]!.folder.highestModseq)
      expect(await t.folder(user)).toEqual(same.changes[1]!.folder)
      expect(await t.folder(user)).toMatchObject({messages: 2, unseen: 1, uidNext: d + 3})
      await t.expectCounters(f)
      // COPY within one folder: new UIDs, shared blobs
      const copied = await t.mail.copy({user, mailboxId: f.id, uids: [d + 1], to: 'INBOX', move: false})
      expect(copied.pairs).toEqual([[d + 1, d + 3]])
      expect(await t.refs((await t.record(f, d + 1)).blobId)).toBe(2)
    })

    withStore('COPY to a missing folder is not-found, to a placeholder invalid, over the quota quota (a MOVE is allowed)', async (t) => {
      const raw = message('q', 'x'.repeat(500))
      const user = await t.user(raw.length + 100)
      const a = await t.add(user, 'INBOX', [], raw)
      const inbox = await t.folder(user)
      const blobId = (await t.record(inbox, a)).blobId
      expect(await codeOfAsync(t.mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Nope', move: true}))).toBe('not-found')
      expect(await codeOfAsync(t.mail.copy({user, mailboxId: 999_997, uids: [a], to: 'Archive', move: false}))).toBe('not-found')
      await t.mail.createFolder(user, 'Hold/child')
      await t.mail.deleteFolder(user, 'Hold')
      expect(await codeOfAsync(t.mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Hold', move: false}))).toBe('invalid')
      expect(await codeOfAsync(t.mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Archive', move: false}))).toBe('quota')
      expect(await t.refs(blobId)).toBe(1)
      expect(await t.folder(user)).toEqual(inbox)
      expect((await t.folder(user, 'Archive')).messages).toBe(0)
      const moved = await t.mail.copy({user, mailboxId: inbox.id, uids: [a], to: 'Archive', move: true})
      expect(moved.pairs).toHaveLength(1)
      expect((await t.folder(user, 'Archive')).size).toBe(raw.length)
    })
  })

  describe(`store.mail delivery and blobs on ${name}`, () => {
    withStore('deliver to several users: one blob, a reference per user, a message in each INBOX, one commit', async (t) => {
      const one = await t.user()
      const two = await t.user()
      const raw = message('to both')
      const t0 = Date.now()
      const result = await t.deliver({localRaw: raw, local: [one, two, one], remote: []})
      expect(result.queued).toEqual([])
      expect(result.stored).toEqual([
        {user: one, folder: 'INBOX', uid: 1, uidValidity: (await t.folder(one)).uidValidity},
        {user: two, folder: 'INBOX', uid: 1, uidValidity: (await t.folder(two)).uidValidity},
      ])
      expect(result.changes.map((c) => c.folder)).toEqual([await t.folder(one), await t.folder(two)])
      expect(result.changes[0]!.appended![0]).toMatchObject({uid: 1, blobId: result.id, flags: [], size: raw.length})
      expect(result.changes[0]!.appended![0]!.internalDate).toBeGreaterThanOrEqual(t0)
      expect(await t.mail.blob(result.id)).toEqual(raw)
      // copied into a buffer where it fits; only its size where it does not
      const target = Buffer.alloc(raw.length + 10, 0x2a)
      expect(await t.mail.blobInto(result.id, target, 4)).toBe(raw.length)
      expect(target.subarray(4, 4 + raw.length)).toEqual(raw)
      expect(target.subarray(0, 4)).toEqual(Buffer.from('****'))
      expect(target.subarray(4 + raw.length)).toEqual(Buffer.from('******'))
      const small = Buffer.alloc(raw.length, 0x2a)
      expect(await t.mail.blobInto(result.id, small, 1)).toBe(raw.length)
      expect(small).toEqual(Buffer.alloc(raw.length, 0x2a))
      expect(await t.mail.blobInto('nope', small, 0)).toBeUndefined()
      expect(await t.mail.blobInfo(result.id)).toMatchObject({refs: 2, size: raw.length, mailFrom: 'sender@example.net', rcptTo: [one, two, one]})
      expect(await t.blobCount()).toBe(1)
      await t.mail.expunge({user: one, mailboxId: (await t.folder(one)).id, onlyDeleted: false})
      expect(await t.refs(result.id)).toBe(1)
      expect(await t.uids(await t.folder(two))).toEqual([1])
      // a user without an INBOX (not a user): nothing is stored
      expect(await codeOfAsync(t.deliver({local: [two, `nobody@${DOMAIN}`], remote: []}))).toBe('not-found')
      expect(await t.blobCount()).toBe(1)
      expect((await t.folder(two)).messages).toBe(1)
    })

    withStore('deliver with junk: the \\Junk folder, else the one named Junk, else a new Junk', async (t) => {
      const user = await t.user()
      const first = await t.deliver({local: [user], remote: [], junk: true})
      expect(first.stored[0]!.folder).toBe('Junk')
      // another folder marked \Junk wins, INBOX first then by name
      await t.mail.createFolder(user, 'Spam', '\\Junk')
      await t.mail.deleteFolder(user, 'Junk')
      expect((await t.deliver({local: [user], remote: [], junk: true})).stored[0]!.folder).toBe('Spam')
      await t.mail.deleteFolder(user, 'Spam')
      const made = await t.deliver({local: [user], remote: [], junk: true})
      expect(made.stored[0]).toMatchObject({folder: 'Junk', uid: 1})
      expect((await t.folder(user, 'Junk')).specialUse).toBe('\\Junk')
      expect((await t.folder(user)).messages).toBe(0)
    })

    withStore('deliver in capture mode makes the missing users (no password, INBOX only); known users are left alone', async (t) => {
      const known = await t.user()
      const fresh = `capture-${Date.now()}@${DOMAIN}`
      const result = await t.deliver({local: [known, fresh], remote: [], createUsers: true})
      expect(result.stored.map((s) => [s.user, s.folder, s.uid])).toEqual([
        [known, 'INBOX', 1],
        [fresh, 'INBOX', 1],
      ])
      expect(await t.directory.user(fresh)).toMatchObject({address: fresh, passwordHash: '', quota: 0, disabled: false, capture: true})
      expect((await t.directory.user(known))?.capture).toBeUndefined()
      expect(await t.names(fresh)).toEqual(['INBOX'])
      expect(await t.refs(result.id)).toBe(2)
      const again = await t.deliver({local: [fresh], remote: [], createUsers: true})
      expect(again.stored[0]!.uid).toBe(2)
      expect(await t.names(fresh)).toEqual(['INBOX'])
    })

    withStore('deliver to remote recipients: one queue entry per domain on a blob of their own, a reference per entry', async (t) => {
      const user = await t.user()
      const localRaw = message('both ways')
      const remoteRaw = Buffer.from(`Received: by us\r\n${message('both ways')}`)
      const remote = ['x@one.test', 'y@two.test', 'z@one.test']
      const result = await t.mail.deliver({localRaw, remoteRaw, analysis: analyzeMessage(localRaw), remoteAnalysis: analyzeMessage(remoteRaw), mailFrom: 's@example.net', rcptTo: [user, ...remote], local: [user], remote})
      expect(result.queued.map((q) => [q.domain, q.recipients.map((r) => r.address)])).toEqual([
        ['one.test', ['x@one.test', 'z@one.test']],
        ['two.test', ['y@two.test']],
      ])
      for (const q of result.queued) {
        expect(q).toMatchObject({from: 's@example.net', state: 'queued', attempts: 0, priority: 'default'})
        expect(q.recipients.every((r) => r.state === 'pending')).toBe(true)
      }
      const remoteBlob = result.queued[0]!.blobId
      expect(result.queued[1]!.blobId).toBe(remoteBlob)
      expect(remoteBlob).not.toBe(result.id)
      expect(await t.mail.blob(remoteBlob)).toEqual(remoteRaw)
      expect(await t.refs(remoteBlob)).toBe(2)
      expect(await t.refs(result.id)).toBe(1)
      // remote only: the id is the queue's blob
      const onlyRemote = await t.deliver({local: [], remote: ['a@three.test']})
      expect(onlyRemote.stored).toEqual([])
      expect(onlyRemote.id).toBe(onlyRemote.queued[0]!.blobId)
      expect(await t.refs(onlyRemote.id)).toBe(1)
    })

    withStore('deliver with placements (Sieve): folders and flags per user, :create with parents, a missing folder is INBOX, discard stores nothing', async (t) => {
      const one = await t.user()
      const two = await t.user()
      const three = await t.user()
      await t.create(one, 'Lists')
      const raw = message('placed')
      const result = await t.deliver({
        localRaw: raw,
        local: [one, two, three],
        remote: [],
        placements: {
          [one]: [
            {folder: 'Lists', flags: ['\\Flagged']},
            {folder: 'inbox', flags: ['$Work']},
            {folder: 'Missing', flags: ['\\Seen']},
            {folder: 'Made/Deep', flags: [], create: true},
            {folder: 'a//b', flags: [], create: true},
          ],
          [two]: [],
        },
      })
      // one copy per folder: INBOX got the keep, the missing folder and the invalid name, with their flags together
      expect(result.stored.map((s) => [s.user, s.folder])).toEqual([
        [one, 'Lists'],
        [one, 'INBOX'],
        [one, 'Made/Deep'],
        [three, 'INBOX'],
      ])
      expect(await t.refs(result.id)).toBe(4)
      const inbox = await t.folder(one)
      expect((await t.record(inbox, 1)).flags.sort()).toEqual(['$Work', '\\Seen'])
      expect((await t.record(await t.folder(one, 'Lists'), 1)).flags).toEqual(['\\Flagged'])
      expect(await t.names(one)).toEqual(expect.arrayContaining(['Made', 'Made/Deep']))
      expect((await t.folder(one, 'Made')).messages).toBe(0)
      expect((await t.folder(two)).messages).toBe(0)
      for (const f of [inbox, await t.folder(one, 'Lists'), await t.folder(one, 'Made/Deep')]) await t.expectCounters(f)
      // nobody keeps it: no blob, a fresh id all the same
      const before = await t.blobCount()
      const discarded = await t.deliver({local: [two], remote: [], placements: {[two]: []}})
      expect(discarded.stored).toEqual([])
      expect(discarded.id).toMatch(/\S/)
      expect(await t.blobCount()).toBe(before)
      // junk wins over placements
      const junk = await t.deliver({local: [two], remote: [], junk: true, placements: {[two]: [{folder: 'Archive', flags: []}]}})
      expect(junk.stored[0]!.folder).toBe('Junk')
    })

    withStore('deliver with `also`: further messages (a forward with its own sender and bytes) in the same commit', async (t) => {
      const one = await t.user()
      const two = await t.user()
      const raw = message('original')
      const forwarded = Buffer.from(`Delivered-To: ${one}\r\n${raw}`)
      const result = await t.deliver({
        localRaw: raw,
        local: [one],
        remote: [],
        also: [{localRaw: forwarded, analysis: analyzeMessage(forwarded), mailFrom: 'SRS0=x=yy=example.net=sender@example.com', rcptTo: ['far@away.test', two], local: [two], remote: ['far@away.test']}],
      })
      expect(result.stored.map((s) => [s.user, s.folder])).toEqual([
        [one, 'INBOX'],
        [two, 'INBOX'],
      ])
      expect(result.queued).toHaveLength(1)
      expect(result.queued[0]).toMatchObject({from: 'SRS0=x=yy=example.net=sender@example.com', domain: 'away.test'})
      expect(await t.mail.blob(result.queued[0]!.blobId)).toEqual(forwarded)
      const twoCopy = await t.record(await t.folder(two), 1)
      expect(await t.mail.blob(twoCopy.blobId)).toEqual(forwarded)
      expect(await t.refs(twoCopy.blobId)).toBe(1)
      expect(await t.mail.blob(result.id)).toEqual(raw)
      // one commit: a failing part stores nothing of the others
      const blobs = await t.blobCount()
      const failing = t.deliver({local: [one], remote: [], also: [{localRaw: raw, analysis: analyzeMessage(raw), mailFrom: '', rcptTo: [], local: [`nobody@${DOMAIN}`], remote: []}]})
      expect(await codeOfAsync(failing)).toBe('not-found')
      expect(await t.blobCount()).toBe(blobs)
      expect((await t.folder(one)).messages).toBe(1)
    })

    withStore('blobs: unknown ids read as nothing; recentBlobs by time and limit; the search text cache', async (t) => {
      const user = await t.user()
      expect(await t.mail.blob('nope')).toBeUndefined()
      expect(await t.mail.blobInfo('nope')).toBeUndefined()
      const t0 = Date.now()
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push((await t.deliver({local: [user], remote: [], localRaw: message(`m${i}`)})).id)
      const recent = await t.mail.recentBlobs(t0 - 1000, 10)
      expect(recent.map((r) => r.id)).toEqual(ids)
      expect(recent[1]!.info.summary?.subject).toBe('m1')
      expect((await t.mail.recentBlobs(t0 - 1000, 2)).map((r) => r.id)).toEqual(ids.slice(0, 2))
      expect(await t.mail.recentBlobs(Date.now() + 60_000, 10)).toEqual([])

      expect(await t.mail.cachedText(ids[0]!)).toBeUndefined()
      await t.mail.cacheText(ids[0]!, 'm0\nhello')
      expect(await t.mail.cachedText(ids[0]!)).toBe('m0\nhello')
      await t.mail.cacheText('gone', 'text')
      expect(await t.mail.cachedText('gone')).toBeUndefined()
      // the last reference takes the text with it
      await t.mail.expunge({user, mailboxId: (await t.folder(user)).id, uids: [1], onlyDeleted: false})
      expect(await t.mail.cachedText(ids[0]!)).toBeUndefined()
    })

    withStore('usage: per user and for all users, as the folders hold', async (t) => {
      const one = await t.user()
      const two = await t.user()
      const raw = message('sized', 'z'.repeat(100))
      await t.append(one, 'INBOX', [], raw)
      await t.append(one, 'Sent', [], raw)
      await t.mail.createFolder(two, 'Extra')
      expect(await t.mail.usage(one)).toEqual({messages: 2, size: raw.length * 2, folders: 6})
      const all = await t.mail.usageByUser()
      expect(all.get(one)).toEqual({messages: 2, size: raw.length * 2, folders: 6})
      expect(all.get(two)).toEqual({messages: 0, size: 0, folders: 7})
      expect(await t.mail.usage(`nobody@${DOMAIN}`)).toEqual({messages: 0, size: 0, folders: 0})
    })

    withStore('changesSince: a whole reload, or exactly what changed after the MODSEQ', async (t) => {
      const user = await t.user()
      const a = await t.add(user)
      const b = await t.add(user)
      const since = (await t.folder(user)).highestModseq
      await t.mail.setFlags({user, mailboxId: (await t.folder(user)).id, uids: [a], mode: 'add', flags: ['\\Deleted']})
      const f = await t.folder(user)
      await t.mail.expunge({user, mailboxId: f.id, onlyDeleted: true})
      const c = await t.add(user)
      const found = await t.mail.changesSince(f.id, since)
      if (!found.whole) {
        expect(found.folder).toEqual(await t.folder(user))
        expect(found.changed.map((m) => m.uid)).toEqual([c])
        expect(found.vanished).toEqual([a])
      }
      const now = await t.mail.changesSince(f.id, (await t.folder(user)).highestModseq)
      if (!now.whole) expect([now.changed, now.vanished]).toEqual([[], []])
      expect(await t.uids(f)).toEqual([b, c])
    })

    withStore('a resolved write is seen through a second handle on the same store', async (t, opened) => {
      const user = await t.user()
      const change = await t.append(user)
      await t.mail.createFolder(user, 'Seen/Elsewhere')
      const other = await opened.reopen()
      try {
        expect(await other.mail.folders(user)).toEqual(await t.mail.folders(user))
        expect(await other.mail.messages(change.folder.id)).toEqual(change.appended)
        expect(await other.mail.blob(change.appended![0]!.blobId)).toBeDefined()
      } finally {
        await other.close()
      }
    })
  })
}
