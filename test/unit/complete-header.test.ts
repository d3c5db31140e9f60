import {describe, expect, it} from 'vitest'
import {completeHeader} from '../../src/mailstore/submit.js'

const complete = (text: string, from = 'root@example.com') =>
  Buffer.concat(completeHeader(Buffer.from(text, 'latin1'), {from, hostname: 'mx.example.com', now: Date.UTC(2026, 0, 2, 3, 4, 5)})).toString('latin1')

describe('completeHeader (sendmail-style From, Date, Message-ID)', () => {
  it('adds the three fields a bare message lacks, on top, and leaves the message bytes as they were', () => {
    const out = complete('Subject: hi\r\n\r\nbody\r\n')
    expect(out).toMatch(/^From: root@example\.com\r\nDate: Fri, 02 Jan 2026 03:04:05 \+0000\r\nMessage-ID: <[0-9a-z]+@mx\.example\.com>\r\nSubject: hi\r\n\r\nbody\r\n$/)
  })

  it('adds nothing when the message has all three, whatever their case, and returns the same buffer', () => {
    const raw = Buffer.from('FROM: a@b\r\ndate: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-Id: <x@y>\r\n\r\nbody\r\n')
    const pieces = completeHeader(raw, {from: 'root@example.com', hostname: 'h'})
    expect(pieces).toEqual([raw])
    expect(pieces[0]).toBe(raw)
  })

  it('adds only what is missing; a folded field counts once and a field name in the body does not count', () => {
    const out = complete('From: Someone\r\n <s@example.com>\r\nSubject: x\r\n\r\nDate: in the body\r\nMessage-ID: <body@x>\r\n')
    expect(out.split('\r\n').slice(0, 2)).toEqual([expect.stringMatching(/^Date: /), expect.stringMatching(/^Message-ID: <[0-9a-z]+@mx\.example\.com>$/)])
    expect(out).toContain('\r\nFrom: Someone\r\n <s@example.com>\r\nSubject: x\r\n\r\nDate: in the body\r\n')
  })

  it('a message without a header block gets the empty line that starts its body', () => {
    const out = complete('hello there\r\nsecond line\r\n')
    expect(out).toMatch(/^From: root@example\.com\r\nDate: .*\r\nMessage-ID: .*\r\n\r\nhello there\r\nsecond line\r\n$/)
  })

  it('a header that runs into the body without an empty line gets one where the body starts', () => {
    const out = complete('Subject: hi\r\nthis is the body\r\n')
    expect(out).toMatch(/\r\nSubject: hi\r\n\r\nthis is the body\r\n$/)
  })

  it('a null sender gets MAILER-DAEMON@hostname', () => {
    expect(complete('Subject: bounce\r\n\r\nx\r\n', '')).toMatch(/^From: MAILER-DAEMON@mx\.example\.com\r\n/)
  })
})
