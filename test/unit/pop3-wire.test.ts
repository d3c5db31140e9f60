import {describe, expect, it} from 'vitest'
import {crlfInfo, crlfInfoOfSize} from '../../src/mime/crlf.js'
import {topOf, toWire} from '../../src/pop3/wire.js'

const b = (s: string) => Buffer.from(s, 'latin1')
const wire = (s: string) => toWire(b(s)).toString('latin1')
/** what a client gets back after removing the byte-stuffing */
const unstuff = (s: string) => s.replace(/^\./gm, '')

describe('toWire: RFC 1939 byte-stuffing and CRLF', () => {
  it('sends CRLF mail without dot lines untouched (the same buffer)', () => {
    const raw = b('Subject: x\r\n\r\nhello\r\nworld\r\n')
    expect(toWire(raw)).toBe(raw)
    expect(toWire(raw, crlfInfo(raw))).toBe(raw)
  })

  it('doubles a dot at the start of every line, the first line included', () => {
    expect(wire('.a\r\n..b\r\n.\r\nc.d\r\n. \r\n')).toBe('..a\r\n...b\r\n..\r\nc.d\r\n.. \r\n')
  })

  it('turns bare LFs into CRLF, keeps CRLFs, and stuffs dots after either', () => {
    expect(wire('a\nb\r\n.c\n.d\r\n\n')).toBe('a\r\nb\r\n..c\r\n..d\r\n\r\n')
    expect(wire('\n\n.')).toBe('\r\n\r\n..\r\n')
  })

  it('ends the last line with CRLF when the message does not', () => {
    expect(wire('a\r\nlast')).toBe('a\r\nlast\r\n')
    expect(wire('a\r\nlast\r')).toBe('a\r\nlast\r\n')
    expect(wire('.')).toBe('..\r\n')
    expect(toWire(b('')).length).toBe(0)
  })

  it('the fast path (no bare LF known) gives the same bytes as the full scan', () => {
    for (const s of ['.x\r\n.y\r\nz', 'a\r\n..\r\n', 'plain\r\n', '\r\n.\r\n', 'x\r\n.']) {
      const raw = b(s)
      const info = crlfInfo(raw)
      expect(info.bareLf).toBe(false)
      expect(toWire(raw, info).toString('latin1')).toBe(toWire(raw).toString('latin1'))
    }
  })

  it('crlfInfo.size is the CRLF form: stuffing and terminator not counted', () => {
    for (const s of ['a\nb\n', 'a\r\nb', '.x\n.y\r\n', '', 'x\r', 'a\n\n\n.\n']) {
      const info = crlfInfo(b(s))
      expect(info.size, JSON.stringify(s)).toBe(Buffer.byteLength(unstuff(wire(s)), 'latin1'))
      expect(info.bareLf).toBe(/(^|[^\r])\n/.test(s))
    }
  })
})

describe('topOf', () => {
  const msg = b('From: a\r\nSubject: s\r\n\r\nl1\r\nl2\r\nl3\r\n')
  it('gives the header, the blank line and the first n body lines', () => {
    expect(topOf(msg, 0).toString()).toBe('From: a\r\nSubject: s\r\n\r\n')
    expect(topOf(msg, 2).toString()).toBe('From: a\r\nSubject: s\r\n\r\nl1\r\nl2\r\n')
    expect(topOf(msg, 99)).toEqual(msg)
  })

  it('works on LF mail, a body without a final newline, and a message without a body', () => {
    expect(topOf(b('S: x\n\na\nb\n'), 1).toString()).toBe('S: x\n\na\n')
    expect(topOf(b('S: x\r\n\r\na\r\nlast'), 5).toString()).toBe('S: x\r\n\r\na\r\nlast')
    expect(topOf(b('S: x\r\nT: y\r\n'), 3).toString()).toBe('S: x\r\nT: y\r\n')
  })
})

describe('crlfInfoOfSize', () => {
  it.each([
    ['CRLF', 'a\r\nb\r\n'],
    ['bare LFs', 'a\nb\r\nc\n'],
    ['no final line break', 'a\r\nb'],
    ['a final lone CR', 'a\r\nb\r'],
    ['bare LF and no final line break', 'a\nb'],
    ['empty', ''],
  ])('%s: the recorded size gives what a scan of the bytes gives', (_, text) => {
    const raw = Buffer.from(text)
    expect(crlfInfoOfSize(raw, crlfInfo(raw).size)).toEqual(crlfInfo(raw))
    expect(crlfInfoOfSize(raw, undefined)).toEqual(crlfInfo(raw))
  })

  it('a size too small for the bytes is not believed', () => {
    const raw = Buffer.from('a\nb\n')
    expect(crlfInfoOfSize(raw, 0)).toEqual(crlfInfo(raw))
  })
})
