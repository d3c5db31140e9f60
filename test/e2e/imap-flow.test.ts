/**
 * imapflow against a real `serve`: folders (special use, create/rename/delete incl. modified
 * UTF-7 and nested names, subscriptions), STATUS and SELECT, FETCH of messages delivered over
 * SMTP (envelope, body structure, body parts of an attached message/rfc822, source, partial),
 * SEARCH, STORE, COPY/MOVE with UIDPLUS, expunge and APPEND; \Seen by a non-peek fetch only.
 */
import type {FetchMessageObject, FetchQueryObject, ImapFlow, StatusObject, StatusQuery} from 'imapflow'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectFlow, deliver, RawImap, type ImapServer, startImapServer} from './imap-helpers.js'

let server: ImapServer
let client: ImapFlow
const alice = {address: 'alice@example.test', password: 'alice-pw'}

/** fetchOne / status without the `false` of imapflow's types (a failure throws) */
async function one(range: string, query: FetchQueryObject, options?: {uid?: boolean}): Promise<FetchMessageObject> {
  const m = await client.fetchOne(range, query, options)
  if (!m) throw new Error(`no message ${range}`)
  return m
}
async function stat(path: string, query: StatusQuery): Promise<StatusObject> {
  const s = await client.status(path, query)
  if (!s) throw new Error(`no status for ${path}`)
  return s
}

const MSG1 = [
  'From: Carol Example <carol@remote.test>',
  'To: Alice <alice@example.test>',
  'Subject: First message',
  'Date: Wed, 10 Jan 2024 10:00:00 +0000',
  'Message-ID: <m1@remote.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'alpha bravo charlie',
  '',
].join('\r\n')

const UTF8_SUBJECT = 'Grüße aus Köln ✓'
const MSG2 = [
  'From: Dave <dave@remote.test>',
  'To: alice@example.test',
  `Subject: =?UTF-8?B?${Buffer.from(UTF8_SUBJECT).toString('base64')}?=`,
  'Date: Fri, 15 Mar 2024 09:30:00 +0000',
  'Message-ID: <m2@remote.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'The zebracrossing word appears here. Ünïcödé body.',
  '',
].join('\r\n')

const PADDING = Array.from({length: 60}, (_, i) => `padding line ${i} ......................................`).join('\r\n')
const PART1_MIME = 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
const PART1_BODY = `See the attached message.\r\n${PADDING}`
const INNER_HEADER = [
  'From: Frank <frank@inner.test>',
  'To: erin@remote.test',
  'Subject: Inner subject',
  'Date: Mon, 27 May 2024 08:00:00 +0000',
  'Message-ID: <inner@inner.test>',
  '',
  '',
].join('\r\n')
const INNER_BODY = 'Inner body text.'
const MSG3 = [
  'From: Erin <erin@remote.test>',
  'To: alice@example.test',
  'Subject: Forwarded report',
  'Date: Sat, 01 Jun 2024 12:00:00 +0000',
  'Message-ID: <m3@remote.test>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer-b"',
  '',
  'This is a multi-part message.',
  '--outer-b',
  PART1_MIME + PART1_BODY,
  '--outer-b',
  'Content-Type: message/rfc822',
  'Content-Disposition: attachment; filename="inner.eml"',
  '',
  INNER_HEADER + INNER_BODY,
  '--outer-b--',
  '',
].join('\r\n')

const MSG4 = [
  'From: Carol Example <carol@remote.test>',
  'To: alice@example.test',
  'Subject: Meeting notes',
  'Date: Tue, 02 Jul 2024 15:00:00 +0000',
  'Message-ID: <m4@remote.test>',
  '',
  'notes body',
  '',
].join('\r\n')

beforeAll(async () => {
  server = await startImapServer()
  for (const m of [MSG1, MSG2, MSG3, MSG4]) await deliver(server.ports.smtp, alice.address, m)
  client = await connectFlow(server, alice)
}, 30_000)

afterAll(async () => {
  await client?.logout().catch(() => {})
  await server?.stop()
})

describe('imapflow: folders', () => {
  it('lists the default folders with their special-use flags', async () => {
    const list = await client.list()
    const byPath = new Map(list.map((e) => [e.path, e]))
    expect([...byPath.keys()]).toEqual(expect.arrayContaining(['INBOX', 'Sent', 'Drafts', 'Trash', 'Junk', 'Archive']))
    for (const [path, use] of [
      ['Sent', '\\Sent'],
      ['Drafts', '\\Drafts'],
      ['Trash', '\\Trash'],
      ['Junk', '\\Junk'],
      ['Archive', '\\Archive'],
    ] as const) {
      const entry = byPath.get(path)!
      expect(entry.specialUse, path).toBe(use)
      // announced by the server (SPECIAL-USE), not guessed from the name
      expect(entry.flags.has(use), path).toBe(true)
      expect(entry.delimiter).toBe('/')
    }
    expect(byPath.get('INBOX')!.specialUse).toBe('\\Inbox')
  })

  it('creates, renames and deletes folders: nested and non-ASCII (modified UTF-7 on the wire)', async () => {
    const nonAscii = 'Café ✓ Ünïcode'
    expect((await client.mailboxCreate('Projects')).created).toBe(true)
    expect((await client.mailboxCreate(['Projects', '2024'])).path).toBe('Projects/2024')
    expect((await client.mailboxCreate(nonAscii)).path).toBe(nonAscii)

    let paths = (await client.list()).map((e) => e.path)
    expect(paths).toEqual(expect.arrayContaining(['Projects', 'Projects/2024', nonAscii]))
    const projects = (await client.list()).find((e) => e.path === 'Projects')!
    expect(projects.flags.has('\\HasChildren')).toBe(true)

    // what actually went over the wire: modified UTF-7
    const raw = await RawImap.login(server.ports.imap, alice)
    const listed = await raw.command('LIST "" "Caf*"')
    expect(listed.status).toBe('OK')
    expect(listed.untagged).toEqual(['* LIST (\\HasNoChildren) "/" "Caf&AOk- &JxM- &ANw-n&AO8-code"'])
    await raw.logout()

    await client.mailboxRename('Projects/2024', 'Projects/Done 2024')
    await client.mailboxRename(nonAscii, 'Ärchiv ✓/Sub')
    paths = (await client.list()).map((e) => e.path)
    expect(paths).toEqual(expect.arrayContaining(['Projects/Done 2024', 'Ärchiv ✓/Sub']))
    expect(paths).not.toContain('Projects/2024')
    expect(paths).not.toContain(nonAscii)

    await client.mailboxDelete('Projects/Done 2024')
    await client.mailboxDelete('Ärchiv ✓/Sub')
    paths = (await client.list()).map((e) => e.path)
    expect(paths).not.toContain('Projects/Done 2024')
    expect(paths).not.toContain('Ärchiv ✓/Sub')
    expect(paths).toContain('Projects')
    await expect(client.mailboxCreate('Projects')).resolves.toMatchObject({created: false})
  })

  it('subscribes and unsubscribes; listTree nests children', async () => {
    await client.mailboxCreate(['Projects', 'Alpha'])
    await client.mailboxSubscribe('Projects/Alpha')
    let entry = (await client.list()).find((e) => e.path === 'Projects/Alpha')!
    expect(entry.subscribed).toBe(true)
    const lsub = (await client.list({statusQuery: {messages: true}})).find((e) => e.path === 'Projects/Alpha')!
    expect(lsub.status?.messages).toBe(0)

    await client.mailboxUnsubscribe('Projects/Alpha')
    entry = (await client.list()).find((e) => e.path === 'Projects/Alpha')!
    expect(entry.subscribed).toBeFalsy()

    const tree = await client.listTree()
    const projects = tree.folders!.find((f) => f.path === 'Projects')!
    expect(projects.folders!.map((f) => f.path)).toEqual(['Projects/Alpha'])
    expect(tree.folders!.find((f) => f.path === 'INBOX')).toBeDefined()
  })

  it('STATUS and SELECT agree on INBOX', async () => {
    const status = await stat('INBOX', {messages: true, uidNext: true, uidValidity: true, unseen: true, recent: true})
    // imapflow enables IMAP4rev2, which has no RECENT: it does not ask, and reports 0 itself
    expect(status).toMatchObject({path: 'INBOX', messages: 4, uidNext: 5, unseen: 4, recent: 0})
    const box = await client.mailboxOpen('INBOX')
    expect(box.exists).toBe(4)
    expect(box.uidNext).toBe(5)
    expect(box.uidValidity).toBe(status.uidValidity)
    expect(box.readOnly).toBeFalsy()
    expect([...box.permanentFlags!]).toContain('\\*')
  })
})

describe('imapflow: fetch', () => {
  it('fetches envelopes, body structures, flags, UIDs, sizes and internal dates', async () => {
    const before = Date.now()
    const msgs = await client.fetchAll('1:*', {envelope: true, bodyStructure: true, flags: true, uid: true, size: true, internalDate: true, source: true})
    expect(msgs.map((m) => m.uid)).toEqual([1, 2, 3, 4])
    expect(msgs.map((m) => m.seq)).toEqual([1, 2, 3, 4])

    const [m1, m2, m3] = msgs as [(typeof msgs)[0], (typeof msgs)[0], (typeof msgs)[0]]
    expect(m1.envelope).toMatchObject({
      subject: 'First message',
      messageId: '<m1@remote.test>',
      from: [{name: 'Carol Example', address: 'carol@remote.test'}],
      to: [{name: 'Alice', address: 'alice@example.test'}],
    })
    expect((m1.envelope!.date as Date).toISOString()).toBe('2024-01-10T10:00:00.000Z')
    expect(m2.envelope!.subject).toBe(UTF8_SUBJECT)

    for (const m of msgs) {
      expect(m.size).toBe(m.source!.length)
      expect(m.flags!.has('\\Seen')).toBe(false)
      const internal = m.internalDate as Date
      expect(internal).toBeInstanceOf(Date)
      // delivered a few seconds ago (second precision)
      expect(Math.abs(internal.getTime() - before)).toBeLessThan(60_000)
    }
    // the stored message is our message under two trace fields
    expect(m1.source!.toString().startsWith('Return-Path: <sender@remote.test>\r\nReceived: ')).toBe(true)
    expect(m1.source!.toString().endsWith(MSG1)).toBe(true)
    expect(m2.source!.toString('utf8').endsWith(MSG2)).toBe(true)

    const bs = m3.bodyStructure!
    expect(bs.type).toBe('multipart/mixed')
    expect(bs.parameters).toMatchObject({boundary: 'outer-b'})
    expect(bs.childNodes!.length).toBe(2)
    const [text, attached] = bs.childNodes! as [NonNullable<typeof bs.childNodes>[0], NonNullable<typeof bs.childNodes>[0]]
    expect(text).toMatchObject({part: '1', type: 'text/plain', parameters: {charset: 'utf-8'}, size: Buffer.byteLength(PART1_BODY)})
    expect(attached).toMatchObject({part: '2', type: 'message/rfc822', disposition: 'attachment', dispositionParameters: {filename: 'inner.eml'}})
    expect(attached.envelope).toMatchObject({subject: 'Inner subject', from: [{name: 'Frank', address: 'frank@inner.test'}], messageId: '<inner@inner.test>'})
    expect(attached.childNodes?.[0]).toMatchObject({type: 'text/plain', size: INNER_BODY.length})
  })

  // Regression: the MIME offsets of a delivered message were computed before Return-Path was
  // prepended, so every section of SMTP-delivered mail came out shifted by that line's length.
  it('fetches body parts of a message delivered over SMTP (offsets include Return-Path)', async () => {
    const m = await one('3', {bodyParts: ['1', '2', '2.1', '1.MIME', '2.HEADER']})
    const parts = m.bodyParts!
    expect(parts.get('1')!.toString()).toBe(PART1_BODY)
    expect(parts.get('1.mime')!.toString()).toBe(PART1_MIME)
    expect(parts.get('2')!.toString()).toBe(INNER_HEADER + INNER_BODY)
    expect(parts.get('2.header')!.toString()).toBe(INNER_HEADER)
    expect(parts.get('2.1')!.toString()).toBe(INNER_BODY)
  })

  it('fetches body parts of a multipart/mixed with an attached message', async () => {
    await client.mailboxCreate('Attachments')
    await client.append('Attachments', MSG3)
    const lock = await client.getMailboxLock('Attachments')
    try {
      const m = await client.fetchOne('1', {bodyParts: ['1', '2', '2.1', '1.MIME', '2.HEADER']})
      if (!m) throw new Error('no message 1')
      const parts = m.bodyParts!
      expect([...parts.keys()].sort()).toEqual(['1', '1.mime', '2', '2.1', '2.header'])
      expect(parts.get('1')!.toString()).toBe(PART1_BODY)
      expect(parts.get('1.mime')!.toString()).toBe(PART1_MIME)
      expect(parts.get('2')!.toString()).toBe(INNER_HEADER + INNER_BODY)
      expect(parts.get('2.header')!.toString()).toBe(INNER_HEADER)
      expect(parts.get('2.1')!.toString()).toBe(INNER_BODY)

      // exact wire form of a section fetch with BODY.PEEK
      const raw = await RawImap.login(server.ports.imap, alice)
      expect((await raw.command('EXAMINE Attachments')).status).toBe('OK')
      const peek = await raw.command('FETCH 1 (BODY.PEEK[1.MIME] BODY.PEEK[2.1])')
      expect(peek.status).toBe('OK')
      expect(peek.untagged).toEqual([`* 1 FETCH (BODY[1.MIME] {${PART1_MIME.length}}\r\n${PART1_MIME} BODY[2.1] {${INNER_BODY.length}}\r\n${INNER_BODY})`])
      await raw.logout()
    } finally {
      lock.release()
    }
    await client.mailboxOpen('INBOX')
  })

  it('fetches the source, and a partial range of it', async () => {
    const full = (await one('2', {source: true})).source!
    const part = (await one('2', {source: {start: 10, maxLength: 25}})).source!
    expect(part.equals(full.subarray(10, 35))).toBe(true)
    const beyond = (await one('2', {source: {start: full.length - 5, maxLength: 100}})).source!
    expect(beyond.equals(full.subarray(full.length - 5))).toBe(true)
    // none of that marked anything \Seen
    const flags = (await one('2', {flags: true})).flags!
    expect(flags.has('\\Seen')).toBe(false)
  })
})

describe('imapflow: search and flags', () => {
  it('searches by flags, addresses, UTF-8 subject, body, dates, size, UIDs, OR and NOT', async () => {
    await client.messageFlagsAdd('1', ['\\Seen'])
    expect(await client.search({seen: true})).toEqual([1])
    expect(await client.search({seen: false})).toEqual([2, 3, 4])
    expect(await client.search({from: 'carol@remote.test'})).toEqual([1, 4])
    expect(await client.search({from: 'Dave'})).toEqual([2])
    expect(await client.search({subject: 'Köln ✓'})).toEqual([2])
    expect(await client.search({subject: 'köln'})).toEqual([2])
    expect(await client.search({body: 'zebracrossing'})).toEqual([2])
    expect(await client.search({body: 'ünïcödé'})).toEqual([2])
    expect(await client.search({body: 'no-such-word-anywhere'})).toEqual([])
    const yesterday = new Date(Date.now() - 86_400_000)
    const tomorrow = new Date(Date.now() + 86_400_000)
    expect(await client.search({since: yesterday})).toEqual([1, 2, 3, 4])
    expect(await client.search({before: yesterday})).toEqual([])
    expect(await client.search({before: tomorrow})).toEqual([1, 2, 3, 4])
    expect(await client.search({sentBefore: new Date('2024-03-16T00:00:00Z')})).toEqual([1, 2])
    expect(await client.search({sentSince: new Date('2024-06-01T00:00:00Z')})).toEqual([3, 4])
    expect(await client.search({larger: 3000})).toEqual([3])
    expect(await client.search({smaller: 3000})).toEqual([1, 2, 4])
    expect(await client.search({uid: '2:3'}, {uid: true})).toEqual([2, 3])
    expect(await client.search({uid: '3:*'})).toEqual([3, 4])
    expect(await client.search({or: [{subject: 'first'}, {from: 'erin'}]})).toEqual([1, 3])
    expect(await client.search({not: {from: 'carol'}})).toEqual([2, 3])
    expect(await client.search({from: 'carol', not: {seen: true}})).toEqual([4])
  })

  it('adds, removes and sets flags, keywords included', async () => {
    const flagsOf = async (seq: string) => [...(await one(seq, {flags: true})).flags!].filter((f) => f !== '\\Recent').sort()
    expect(await client.messageFlagsAdd('2:3', ['\\Flagged', '$Important'])).toBe(true)
    expect(await flagsOf('2')).toEqual(['$Important', '\\Flagged'])
    expect(await flagsOf('3')).toEqual(['$Important', '\\Flagged'])
    expect(await client.search({keyword: '$Important'})).toEqual([2, 3])
    expect(await client.search({flagged: true})).toEqual([2, 3])

    await client.messageFlagsRemove('3', ['\\Flagged'])
    expect(await flagsOf('3')).toEqual(['$Important'])

    await client.messageFlagsSet('2', ['\\Answered', 'custom-kw'])
    expect(await flagsOf('2')).toEqual(['\\Answered', 'custom-kw'])
    await client.messageFlagsSet('4', [], {uid: true})
    expect(await flagsOf('4')).toEqual([])
    expect(await client.search({keyword: 'custom-kw'})).toEqual([2])
    expect(await client.search({unKeyword: '$Important'})).toEqual([1, 2, 4])

    // the new keyword shows in FLAGS on the next SELECT
    const box = await client.mailboxOpen('INBOX')
    expect([...box.flags]).toEqual(expect.arrayContaining(['$Important', 'custom-kw']))
  })

  it('sets \\Seen on a non-peek body fetch, not on BODY.PEEK', async () => {
    const raw = await RawImap.login(server.ports.imap, alice)
    expect((await raw.command('SELECT INBOX')).status).toBe('OK')
    const peek = await raw.command('FETCH 3 (BODY.PEEK[]<0.11>)')
    expect(peek.status).toBe('OK')
    // a partial fetch labels its origin
    expect(peek.untagged).toEqual(['* 3 FETCH (BODY[]<0> {11}\r\nReturn-Path)'])
    expect((await raw.command('FETCH 3 FLAGS')).untagged[0]).not.toContain('\\Seen')

    const read = await raw.command('FETCH 3 BODY[]<0.11>')
    expect(read.status).toBe('OK')
    // the new flags go out with the data, in the same FETCH response
    expect(read.untagged.length).toBe(1)
    expect(read.untagged[0]).toMatch(/^\* 3 FETCH \(BODY\[\]<0> \{11\}\r\nReturn-Path FLAGS \([^)]*\\Seen[^)]*\)\)$/)
    expect((await raw.command('FETCH 3 FLAGS')).untagged[0]).toContain('\\Seen')
    // RFC822.HEADER is a peek; RFC822 is not
    expect((await raw.command('FETCH 4 RFC822.HEADER')).untagged[0]).not.toContain('\\Seen')
    expect((await raw.command('FETCH 4 FLAGS')).untagged[0]).not.toContain('\\Seen')
    const rfc822 = await raw.command('FETCH 4 RFC822')
    expect(rfc822.untagged[0]).toMatch(/^\* 4 FETCH \(RFC822 \{\d+\}\r\nReturn-Path: [^]*\\Seen/)
    await raw.logout()
    // imapflow sees it too (another session's change: reported as a FETCH on its next command)
    expect((await one('3', {flags: true})).flags!.has('\\Seen')).toBe(true)
    expect((await one('4', {flags: true})).flags!.has('\\Seen')).toBe(true)
    await client.messageFlagsRemove('3:4', ['\\Seen'])
  })
})

describe('imapflow: copy, move, delete, append', () => {
  it('copies with COPYUID → uidMap', async () => {
    const archive = await stat('Archive', {uidNext: true, uidValidity: true})
    const res = await client.messageCopy('1:2', 'Archive')
    expect(res).toBeTruthy()
    if (!res) return
    expect(res.destination).toBe('Archive')
    expect(res.uidValidity).toBe(archive.uidValidity)
    expect([...res.uidMap!.entries()]).toEqual([
      [1, archive.uidNext!],
      [2, archive.uidNext! + 1],
    ])
    expect((await stat('Archive', {messages: true})).messages).toBe(2)
    expect((await stat('INBOX', {messages: true})).messages).toBe(4)
  })

  it('moves with uidMap; the source messages are gone', async () => {
    const trash = await stat('Trash', {uidNext: true, uidValidity: true})
    const res = await client.messageMove('4', 'Trash', {uid: true})
    expect(res).toBeTruthy()
    if (!res) return
    expect(res.uidValidity).toBe(trash.uidValidity)
    expect([...res.uidMap!.entries()]).toEqual([[4, trash.uidNext!]])
    expect(client.mailbox && client.mailbox.exists).toBe(3)
    expect((await client.fetchAll('1:*', {uid: true})).map((m) => m.uid)).toEqual([1, 2, 3])
    expect(await client.search({uid: '4'}, {uid: true})).toEqual([])
    const lock = await client.getMailboxLock('Trash')
    try {
      const moved = await client.fetchAll('1:*', {envelope: true, uid: true})
      expect(moved.map((m) => [m.uid, m.envelope!.subject])).toEqual([[trash.uidNext!, 'Meeting notes']])
    } finally {
      lock.release()
    }
  })

  it('deletes (STORE \\Deleted + EXPUNGE) via messageDelete', async () => {
    await client.mailboxOpen('Archive')
    expect(client.mailbox && client.mailbox.exists).toBe(2)
    expect(await client.messageDelete('1')).toBe(true)
    expect(client.mailbox && client.mailbox.exists).toBe(1)
    const left = await client.fetchAll('1:*', {envelope: true})
    expect(left.map((m) => m.envelope!.subject)).toEqual([UTF8_SUBJECT])
    expect((await stat('INBOX', {messages: true})).messages).toBe(3)
  })

  it('appends with flags and an internal date (APPENDUID)', async () => {
    const drafts = await stat('Drafts', {uidNext: true, uidValidity: true})
    const content = 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: Draft ✓\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDraft body\r\n'
    const date = new Date('2020-02-03T04:05:06Z')
    const res = await client.append('Drafts', content, ['\\Draft', '\\Seen', 'kw1'], date)
    expect(res).toMatchObject({destination: 'Drafts', uid: drafts.uidNext, uidValidity: drafts.uidValidity})

    await client.mailboxOpen('Drafts')
    const m = await one('*', {flags: true, internalDate: true, source: true, uid: true, envelope: true})
    expect(m.uid).toBe(drafts.uidNext)
    // \\Recent too: this session is the first to see it
    expect([...m.flags!].sort()).toEqual(['\\Draft', '\\Recent', '\\Seen', 'kw1'])
    expect((m.internalDate as Date).toISOString()).toBe(date.toISOString())
    expect(m.source!.toString('utf8')).toBe(content)
    expect(m.envelope!.subject).toBe('Draft ✓')
    expect(await client.search({before: new Date('2021-01-01T00:00:00Z')})).toEqual([1])

    // into a folder that does not exist: TRYCREATE
    await expect(client.append('Nope/Missing', content)).rejects.toMatchObject({serverResponseCode: 'TRYCREATE'})
  })
})
