/**
 * The parts of SORT and THREAD below the commands: RFC 5256 §2.1 base subjects, the sort keys
 * read from a header, the thread algorithms on folders too deep for recursion, and the sort-key
 * cache on a real LMDB store.
 */
import {describe, expect, it} from 'vitest'
import {sortable} from '../../src/imap/sort/order.js'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import {SortKeysCache} from '../../src/mailstore/sort-keys-cache.js'
import {createDefaultFolders} from '../../src/store/lmdb-folders.js'
import {tempStore} from '../helpers/store.js'
import {formatThreads, orderedSubject, referencesThreads} from '../../src/imap/sort/thread.js'
import {baseSubject} from '../../src/mime/base-subject.js'
import {MessageIdNumbers, sortKeysOf as keysOf} from '../../src/mime/sort-keys.js'

const ids = new MessageIdNumbers()
const sortKeysOf = (header: string) => keysOf(header, ids)

describe('base subject (RFC 5256 §2.1)', () => {
  it.each([
    ['Re: hello', 'hello', true],
    ['Hello (fwd)', 'Hello', true],
    ['Hello (FWD) (fwd)  ', 'Hello', true],
    ['[list] Apple', 'Apple', false],
    ['re: [blob] re: apple', 'apple', true],
    ['[a][b] Re: c', 'c', true],
    ['Fw[x]: y', 'y', true],
    ['RE [x] : y', 'y', true],
    ['[fwd: Zebra]', 'Zebra', true],
    ['Re: [fwd: Re: x] (fwd)', 'x', true],
    ['=?UTF-8?Q?Fwd:_Re:_banana?=', 'banana', true],
    ['=?UTF-8?B?UmU6IMOJbGlzZQ==?=', 'Élise', true],
    ['[blob]', '[blob]', false],
    ['[blob]   ', '[blob]', false],
    ['Re:   spaced\t  out  ', 'spaced out', true],
    ['Review: not a reply', 'Review: not a reply', false],
    ['', '', false],
  ])('%j → %j', (raw, text, replyOrForward) => {
    expect(baseSubject(raw)).toEqual({text, replyOrForward})
  })
})

describe('sort keys of a header', () => {
  it('reads the sent date in UTC, the first addresses and the thread ids', () => {
    const k = sortKeysOf(
      'From: "Ann (x)" <Ann@x.test>, bob@x.test\r\nTo: undisclosed-recipients:;\r\nCc: =?UTF-8?B?w4lsaXNl?= <elise@x.test>\r\nSubject: Re: Hi\r\n' +
        'Date: Thu, 4 Jan 2024 01:00:00 -0800 (PST)\r\nMessage-ID: <me@x.test>\r\nIn-Reply-To: <p1@x.test> <p2@x.test>\r\n\r\n',
    )
    expect(k).toMatchObject({sent: Date.UTC(2024, 0, 4, 9), subject: 'HI', replyOrForward: true, from: 'ANN', to: 'UNDISCLOSED-RECIPIENTS', cc: 'ELISE', displayFrom: 'ANN (X)', messageId: '<me@x.test>', references: ['<p1@x.test>']})
    expect(sortKeysOf('Subject: x\r\nReferences: <a@x> junk <b@x>\r\nIn-Reply-To: <c@x>\r\n\r\n').references).toEqual(['<a@x>', '<b@x>'])
    expect(sortKeysOf('Date: not a date\r\n\r\n').sent).toBeUndefined()
  })
})

const message = (seq: number, header: string) => sortable(seq, {uid: seq * 10, blobId: String(seq), flags: [], internalDate: seq, size: 1, modseq: 1}, sortKeysOf(header))

describe('threads', () => {
  it('a reply chain of 20,000 messages threads and formats without recursion', () => {
    const n = 20_000
    const messages = Array.from({length: n}, (_, i) => message(i + 1, `Message-ID: <${i}@x>\r\n${i ? `In-Reply-To: <${i - 1}@x>\r\n` : ''}\r\n`))
    // arrival in reverse: every message is linked before its parent exists
    const threads = referencesThreads(messages.slice().reverse())
    expect(threads).toHaveLength(1)
    const text = formatThreads(threads, (m) => m.seq)
    expect(text).toBe(`(${messages.map((m) => m.seq).join(' ')})`)
    expect(formatThreads(orderedSubject(messages), (m) => m.record.uid)).toMatch(/^\(10 \(20\)\(30\)/)
  })

  it('references that would close a loop are not linked; a message\'s own parent link gives way to its References (§3 step 1B)', () => {
    // 1 hangs under b → c; 2 (b) would go under a, its own descendant: not linked; 3 (c) names
    // only itself: its link to b is broken and none made, so c heads its own thread
    const threads = referencesThreads([
      message(1, 'Message-ID: <a@x>\r\nReferences: <b@x> <c@x>\r\nSubject: one\r\n\r\n'),
      message(2, 'Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: two\r\n\r\n'),
      message(3, 'Message-ID: <c@x>\r\nReferences: <c@x>\r\nSubject: three\r\n\r\n'),
    ])
    expect(formatThreads(threads, (m) => m.seq)).toBe('(2)(3 1)')
  })
})

describe('the sort-key cache on a real store', () => {
  const store = tempStore()
  const user = 'sorter@example.com'
  store.transact(() => {
    store.users.putSync(user, {address: user, passwordHash: '', quota: 0, disabled: false, createdAt: 0, updatedAt: 0})
    createDefaultFolders(store, user)
  })
  const append = async (i: number) => {
    const raw = Buffer.from(`Subject: Re: s${i}\r\nMessage-ID: <m${i}@x>\r\nReferences: <m${i - 1}@x> ${Array.from({length: 10}, (_, k) => `<gone${i}.${k}@x>`).join(' ')}\r\n\r\nx\r\n`)
    return (await store.mail.append({user, folder: 'INBOX', messages: [{raw, flags: [], analysis: analyzeMessage(raw)}]})).appended![0]!
  }

  it('answers from the blobs, evicts beyond its bound, and numbers every answer from one table when it starts again', async () => {
    const records = []
    for (let i = 0; i < 30; i++) records.push(await append(i))
    // two entries kept: 25 messages number ~300 ids, more than 8 for each of the next call's 30,
    // which starts the table again: its first message's id is number 0 (else it would be ~300)
    const cache = new SortKeysCache(store.mail, 2)
    const first = await cache.of(records.slice(5))
    expect(first.map((k) => k.subject)).toEqual(records.slice(5).map((_, i) => `S${i + 5}`))
    const again = await cache.of(records)
    expect(again[0]!.messageNumber).toBe(0)
    // the same id has the same number within an answer
    expect(again[5]!.referenceNumbers[0]).toBe(again[4]!.messageNumber)
    const [a, b] = await Promise.all([cache.of(records.slice(0, 20)), cache.of(records.slice(10))])
    expect(a[15]!.referenceNumbers[0]).toBe(a[14]!.messageNumber)
    expect(b[5]!.referenceNumbers[0]).toBe(b[4]!.messageNumber)
    // a folder view's array is answered from memory until the view is replaced
    const big = new SortKeysCache(store.mail)
    const view = await big.of(records)
    expect(await big.of(records)).toBe(view)
    // a blob that is gone sorts as a message without a header
    expect((await big.of([{...records[0]!, blobId: 'no-such-blob'}]))[0]).toMatchObject({subject: '', messageNumber: -1})
  })
})
