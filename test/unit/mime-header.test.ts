import {describe, expect, it} from 'vitest'
import {fieldValue, headerEnd, parseHeader, parseStructured} from '../../src/mime/header.js'

const buf = (s: string) => Buffer.from(s, 'latin1')

describe('headerEnd', () => {
  it('CRLF: returns the offset just past the blank line', () => {
    const raw = buf('Subject: a\r\nFrom: b@c\r\n\r\nbody\r\n\r\nmore\r\n')
    // 'Subject: a\r\n' = 12, 'From: b@c\r\n' = 11, blank '\r\n' = 2
    expect(headerEnd(raw, 0, raw.length)).toBe(25)
    expect(raw.subarray(25).toString('latin1')).toBe('body\r\n\r\nmore\r\n')
  })

  it('bare LF: returns the offset just past the blank line', () => {
    const raw = buf('Subject: a\nFrom: b@c\n\nbody\n\nmore\n')
    expect(headerEnd(raw, 0, raw.length)).toBe(22)
    expect(raw.subarray(22).toString('latin1')).toBe('body\n\nmore\n')
  })

  it('a header block ended by CRLF followed by a bare LF blank line', () => {
    const raw = buf('A: b\r\n\nbody')
    expect(headerEnd(raw, 0, raw.length)).toBe(7)
  })

  it('no blank line at all: the whole message is header', () => {
    for (const s of ['Subject: a\r\nFrom: b@c\r\n', 'Subject: a\nFrom: b@c\n', 'Subject: a', '']) {
      const raw = buf(s)
      expect(headerEnd(raw, 0, raw.length)).toBe(raw.length)
    }
  })

  it('a message starting with a bare-LF blank line has no header', () => {
    const raw = buf('\nbody\n\nmore')
    expect(headerEnd(raw, 0, raw.length)).toBe(1)
  })

  it('a message starting with a CRLF blank line has no header', () => {
    const raw = buf('\r\nbody line\r\n\r\nsecond paragraph\r\n')
    expect(headerEnd(raw, 0, raw.length)).toBe(2)
  })

  it('respects start: works on a range inside a larger buffer', () => {
    const raw = buf('PREFIX\r\n\r\nX: y\r\n\r\nbody')
    expect(headerEnd(raw, 10, raw.length)).toBe(18)
    const lf = buf('junk\n\n\nbody')
    // a range starting at an empty line has no header
    expect(headerEnd(lf, 6, lf.length)).toBe(7)
  })

  it('never returns an offset past end (the bytes after end belong to someone else)', () => {
    // a body part 'X: y\r\n' followed by the CRLF that belongs to the next boundary delimiter
    const raw = buf('X: y\r\n\r\n--b--')
    expect(headerEnd(raw, 0, 6)).toBe(6)
    const lf = buf('X: y\n\n--b--')
    expect(headerEnd(lf, 0, 5)).toBe(5)
  })
})

describe('parseHeader', () => {
  it('lowercases names, trims values, keeps order and duplicates', () => {
    const fields = parseHeader('Subject:   Hello  \r\nX-Mixed-Case: Value Kept\r\nReceived: one\r\nReceived: two\r\nX-Empty:\r\n')
    expect(fields).toEqual([
      {key: 'subject', value: 'Hello'},
      {key: 'x-mixed-case', value: 'Value Kept'},
      {key: 'received', value: 'one'},
      {key: 'received', value: 'two'},
      {key: 'x-empty', value: ''},
    ])
    expect(fieldValue(fields, 'received')).toBe('one')
    expect(fieldValue(fields, 'x-empty')).toBe('')
    expect(fieldValue(fields, 'missing')).toBeUndefined()
  })

  it('unfolds folded fields (CRLF and LF, space and tab continuations)', () => {
    expect(parseHeader('Subject: hello\r\n world\r\n\tagain\r\nTo: a@b\r\n')).toEqual([
      {key: 'subject', value: 'hello world again'},
      {key: 'to', value: 'a@b'},
    ])
    expect(parseHeader('Content-Type: multipart/mixed;\n\tboundary="abc"\nX: 1\n')).toEqual([
      {key: 'content-type', value: 'multipart/mixed; boundary="abc"'},
      {key: 'x', value: '1'},
    ])
  })

  it('keeps a colon inside the value', () => {
    expect(parseHeader('Date: Mon, 1 Jan 2024 10:00:00 +0000')).toEqual([{key: 'date', value: 'Mon, 1 Jan 2024 10:00:00 +0000'}])
  })

  it('ignores lines that are not fields', () => {
    const fields = parseHeader('garbage line without colon\r\n: no name\r\nSubject: ok\r\nnot a field either\r\n\r\nFrom: a@b\r\n')
    expect(fields).toEqual([
      {key: 'subject', value: 'ok'},
      {key: 'from', value: 'a@b'},
    ])
  })
})

describe('parseStructured', () => {
  it('value and plain/quoted params', () => {
    expect(parseStructured('text/plain; charset="utf-8"; format=flowed')).toEqual({
      value: 'text/plain',
      params: {charset: 'utf-8', format: 'flowed'},
    })
  })

  it('lowercases the value and param names, keeps param values as given', () => {
    expect(parseStructured('Multipart/Mixed; BOUNDARY="AbC=_Xy"; Charset=UTF-8')).toEqual({
      value: 'multipart/mixed',
      params: {boundary: 'AbC=_Xy', charset: 'UTF-8'},
    })
  })

  it('escaped quotes and backslashes inside quoted strings', () => {
    expect(parseStructured('attachment; filename="a \\"quoted\\" name.txt"').params).toEqual({filename: 'a "quoted" name.txt'})
    expect(parseStructured('attachment; filename="c:\\\\dir\\\\x.txt"').params).toEqual({filename: 'c:\\dir\\x.txt'})
  })

  it('a semicolon inside a quoted string does not end the param', () => {
    expect(parseStructured('attachment; filename="a;b.txt"; size=3')).toEqual({
      value: 'attachment',
      params: {filename: 'a;b.txt', size: '3'},
    })
  })

  it('params without a value are dropped, the following ones kept', () => {
    expect(parseStructured('inline; foo; bar=1; ; baz')).toEqual({value: 'inline', params: {bar: '1'}})
  })

  it('RFC 2231 continuations and extended values are kept as given', () => {
    expect(parseStructured(`attachment; filename*0="long"; filename*1="name.txt"; title*=utf-8''%E2%82%AC`)).toEqual({
      value: 'attachment',
      params: {'filename*0': 'long', 'filename*1': 'name.txt', 'title*': "utf-8''%E2%82%AC"},
    })
  })

  it('trailing and repeated semicolons', () => {
    expect(parseStructured('text/plain;')).toEqual({value: 'text/plain', params: {}})
    expect(parseStructured('text/plain; charset=us-ascii;;')).toEqual({value: 'text/plain', params: {charset: 'us-ascii'}})
  })

  it('white space around = and around the value', () => {
    expect(parseStructured('  text/plain ; charset = utf-8 ; name = "a b" ')).toEqual({
      value: 'text/plain',
      params: {charset: 'utf-8', name: 'a b'},
    })
  })

  it('junk after a closing quote is skipped; an unterminated quote runs to the end', () => {
    expect(parseStructured('x/y; a="1"junk; b=2').params).toEqual({a: '1', b: '2'})
    expect(parseStructured('x/y; name="abc').params).toEqual({name: 'abc'})
  })

  it('empty input', () => {
    expect(parseStructured('')).toEqual({value: '', params: {}})
  })
})
