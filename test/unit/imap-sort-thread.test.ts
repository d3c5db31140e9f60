/**
 * The pure parts of SORT and THREAD: RFC 5256 §2.1 base subjects, the sort keys read from a
 * header, and the thread algorithms on folders too deep for recursion.
 */
import {describe, expect, it} from 'vitest'
import {sortable} from '../../src/imap/sort/order.js'
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
