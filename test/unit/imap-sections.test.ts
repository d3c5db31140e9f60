import {describe, expect, it} from 'vitest'
import {parseCommand, ParseError, type Node} from '../../src/imap/parser.js'
import {filterHeader, parseSection, sectionBytes} from '../../src/imap/sections.js'
import {parseMessage} from '../../src/mime/structure.js'

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8')

/** the section nodes of `BODY[spec]`, as the parser produces them */
function nodes(spec: string): Node[] {
  const item = parseCommand([`A1 FETCH 1 BODY[${spec}]`]).args[1]!
  if (item.type !== 'section') throw new Error('not a section')
  return item.section
}

/** BODY[spec] of a raw message, as text */
function section(raw: Buffer, spec: string): string {
  return sectionBytes(raw, parseMessage(raw).root, parseSection(nodes(spec))).toString('utf8')
}

describe('parseSection', () => {
  it.each([
    ['', {path: [], specifier: '', label: ''}],
    ['HEADER', {path: [], specifier: 'HEADER', label: 'HEADER'}],
    ['text', {path: [], specifier: 'TEXT', label: 'TEXT'}],
    ['1', {path: [1], specifier: '', label: '1'}],
    ['1.2.3', {path: [1, 2, 3], specifier: '', label: '1.2.3'}],
    ['2.MIME', {path: [2], specifier: 'MIME', label: '2.MIME'}],
    ['2.header', {path: [2], specifier: 'HEADER', label: '2.HEADER'}],
    ['3.1.TEXT', {path: [3, 1], specifier: 'TEXT', label: '3.1.TEXT'}],
    ['HEADER.FIELDS (From "to" cc)', {path: [], specifier: 'HEADER.FIELDS', fields: ['From', 'to', 'cc'], label: 'HEADER.FIELDS (FROM TO CC)'}],
    ['1.header.fields.not (X-Spam)', {path: [1], specifier: 'HEADER.FIELDS.NOT', fields: ['X-Spam'], label: '1.HEADER.FIELDS.NOT (X-SPAM)'}],
  ])('%j', (spec, expected) => {
    expect(parseSection(nodes(spec))).toEqual(expected)
  })

  it.each([
    '0',
    '1.0',
    '0.TEXT',
    'MIME',
    'BODY',
    'TEXT.1',
    'HEADER.FIELDS',
    'HEADER.FIELDS ()',
    'HEADER.FIELDS (FROM) (TO)',
    'HEADER (FROM)',
    '1.HEADERS',
    '(FROM)',
    '"1"',
    'HEADER.FIELDS ((FROM))',
    '1 2',
    '1..2',
    '1.',
  ])('refuses %j', (spec) => {
    expect(() => parseSection(nodes(spec))).toThrow(ParseError)
  })
})

describe('sectionBytes: a single-part message', () => {
  const raw = crlf('From: a@example.com', 'Subject: hi', '', 'Hello', 'World', '')

  it('BODY[] is the whole message', () => {
    expect(section(raw, '')).toBe(raw.toString())
  })

  it('BODY[HEADER] is the header with its blank line', () => {
    expect(section(raw, 'HEADER')).toBe('From: a@example.com\r\nSubject: hi\r\n\r\n')
  })

  it('BODY[TEXT] and BODY[1] are the body', () => {
    expect(section(raw, 'TEXT')).toBe('Hello\r\nWorld\r\n')
    expect(section(raw, '1')).toBe('Hello\r\nWorld\r\n')
  })

  it('parts that do not exist are empty', () => {
    expect(section(raw, '2')).toBe('')
    expect(section(raw, '1.1')).toBe('')
    expect(section(raw, '2.MIME')).toBe('')
    expect(section(raw, '1.TEXT')).toBe('')
    expect(section(raw, '1.HEADER')).toBe('')
  })

  it('a slice of the stored bytes, not a copy', () => {
    const bytes = sectionBytes(raw, parseMessage(raw).root, parseSection(nodes('TEXT')))
    expect(bytes.buffer).toBe(raw.buffer)
  })
})

describe('sectionBytes: nested multiparts', () => {
  const raw = crlf(
    'From: a@example.com',
    'Subject: nested',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    'preamble',
    '--outer',
    'Content-Type: text/plain',
    '',
    'part one',
    '--outer',
    'Content-Type: multipart/alternative; boundary=inner',
    '',
    '--inner',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'alt plain',
    '--inner',
    'Content-Type: text/html',
    '',
    '<p>alt html</p>',
    '--inner--',
    '--outer',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    'AAEC',
    '--outer--',
    'epilogue',
    '',
  )

  it('numbered parts are the bodies of the leaves', () => {
    expect(section(raw, '1')).toBe('part one')
    expect(section(raw, '2.1')).toBe('alt plain')
    expect(section(raw, '2.2')).toBe('<p>alt html</p>')
    expect(section(raw, '3')).toBe('AAEC')
  })

  it('a multipart part is its whole MIME body, boundaries included', () => {
    expect(section(raw, '2')).toBe(
      ['--inner', 'Content-Type: text/plain; charset=utf-8', '', 'alt plain', '--inner', 'Content-Type: text/html', '', '<p>alt html</p>', '--inner--'].join('\r\n'),
    )
  })

  it('N.MIME is the part header with its blank line', () => {
    expect(section(raw, '1.MIME')).toBe('Content-Type: text/plain\r\n\r\n')
    expect(section(raw, '2.MIME')).toBe('Content-Type: multipart/alternative; boundary=inner\r\n\r\n')
    expect(section(raw, '2.2.MIME')).toBe('Content-Type: text/html\r\n\r\n')
    expect(section(raw, '3.MIME')).toBe('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n')
  })

  it('HEADER and TEXT are the top-level message', () => {
    expect(section(raw, 'HEADER')).toBe('From: a@example.com\r\nSubject: nested\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n')
    const text = section(raw, 'TEXT')
    expect(text.startsWith('preamble\r\n--outer\r\n')).toBe(true)
    expect(text.endsWith('--outer--\r\nepilogue\r\n')).toBe(true)
  })

  it('HEADER and TEXT of a part that is not a message are empty', () => {
    expect(section(raw, '1.HEADER')).toBe('')
    expect(section(raw, '2.TEXT')).toBe('')
  })

  it('parts that do not exist are empty', () => {
    for (const spec of ['4', '2.3', '1.1', '2.1.1', '4.MIME', '2.3.MIME', '9.9.9', '99999999999']) expect(section(raw, spec), spec).toBe('')
  })
})

describe('sectionBytes: an attached message/rfc822', () => {
  const inner = ['From: inner@example.com', 'Subject: original', 'To: x@example.com', '', 'inner body']
  const raw = crlf(
    'From: outer@example.com',
    'Subject: fwd',
    'Content-Type: multipart/mixed; boundary=b1',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    'see attached',
    '--b1',
    'Content-Type: message/rfc822',
    'Content-Description: the original',
    '',
    ...inner,
    '--b1--',
    '',
  )

  it('2 is the whole inner message', () => {
    expect(section(raw, '2')).toBe(inner.join('\r\n'))
  })

  it('2.HEADER and 2.TEXT are the inner header and body', () => {
    expect(section(raw, '2.HEADER')).toBe('From: inner@example.com\r\nSubject: original\r\nTo: x@example.com\r\n\r\n')
    expect(section(raw, '2.TEXT')).toBe('inner body')
  })

  it('2.1 is the body of a single-part inner message', () => {
    expect(section(raw, '2.1')).toBe('inner body')
    expect(section(raw, '2.2')).toBe('')
  })

  it('2.MIME is the header of the attachment part, not of the inner message', () => {
    expect(section(raw, '2.MIME')).toBe('Content-Type: message/rfc822\r\nContent-Description: the original\r\n\r\n')
  })

  it('2.HEADER.FIELDS filters the inner header', () => {
    expect(section(raw, '2.HEADER.FIELDS (subject)')).toBe('Subject: original\r\n\r\n')
    expect(section(raw, '2.HEADER.FIELDS.NOT (subject)')).toBe('From: inner@example.com\r\nTo: x@example.com\r\n\r\n')
    expect(section(raw, 'HEADER.FIELDS (subject)')).toBe('Subject: fwd\r\n\r\n')
  })

  it('an inner multipart message: 2.1, 2.2 are its parts', () => {
    const raw2 = crlf(
      'Content-Type: multipart/mixed; boundary=o',
      '',
      '--o',
      'Content-Type: text/plain',
      '',
      'first',
      '--o',
      'Content-Type: message/rfc822',
      '',
      'Subject: inner',
      'Content-Type: multipart/alternative; boundary=i',
      '',
      '--i',
      'Content-Type: text/plain',
      '',
      'in plain',
      '--i',
      'Content-Type: text/html',
      '',
      'in html',
      '--i--',
      '--o--',
      '',
    )
    expect(section(raw2, '2.1')).toBe('in plain')
    expect(section(raw2, '2.2')).toBe('in html')
    expect(section(raw2, '2.2.MIME')).toBe('Content-Type: text/html\r\n\r\n')
    expect(section(raw2, '2.HEADER')).toBe('Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n')
    expect(section(raw2, '2.TEXT')).toBe('--i\r\nContent-Type: text/plain\r\n\r\nin plain\r\n--i\r\nContent-Type: text/html\r\n\r\nin html\r\n--i--')
    expect(section(raw2, '2.3')).toBe('')
  })

  it('a message that is itself message/rfc822: 1 is the inner message, 1.1 its body', () => {
    const raw3 = crlf('Subject: outer', 'Content-Type: message/rfc822', '', 'Subject: wrapped', '', 'wrapped body', '')
    expect(section(raw3, '1')).toBe('Subject: wrapped\r\n\r\nwrapped body\r\n')
    expect(section(raw3, '1.HEADER')).toBe('Subject: wrapped\r\n\r\n')
    expect(section(raw3, '1.TEXT')).toBe('wrapped body\r\n')
    expect(section(raw3, '1.1')).toBe('wrapped body\r\n')
    expect(section(raw3, 'HEADER')).toBe('Subject: outer\r\nContent-Type: message/rfc822\r\n\r\n')
    expect(section(raw3, '2')).toBe('')
  })
})

describe('HEADER.FIELDS and HEADER.FIELDS.NOT', () => {
  const raw = crlf(
    'Received: from a.example',
    '\tby b.example; Mon, 1 Jan 2024 00:00:00 +0000',
    'Subject: a long',
    ' folded subject',
    'from: x@example.com',
    'To: y@example.com,',
    '  z@example.com',
    'Received: from c.example',
    'X-Other : spaced name',
    'X-Empty:',
    '',
    'Subject: not a header, this is the body',
    '',
  )

  it('keeps the named fields in message order, folding included, with the blank line', () => {
    expect(section(raw, 'HEADER.FIELDS (SUBJECT From)')).toBe('Subject: a long\r\n folded subject\r\nfrom: x@example.com\r\n\r\n')
  })

  it('field names are case-insensitive; every occurrence of a repeated field is kept', () => {
    expect(section(raw, 'HEADER.FIELDS (received)')).toBe('Received: from a.example\r\n\tby b.example; Mon, 1 Jan 2024 00:00:00 +0000\r\nReceived: from c.example\r\n\r\n')
    expect(section(raw, 'HEADER.FIELDS ("TO")')).toBe('To: y@example.com,\r\n  z@example.com\r\n\r\n')
  })

  it('a name with space before the colon and an empty field are found', () => {
    expect(section(raw, 'HEADER.FIELDS (x-other x-empty)')).toBe('X-Other : spaced name\r\nX-Empty:\r\n\r\n')
  })

  it('.NOT keeps every other field, folding included', () => {
    expect(section(raw, 'HEADER.FIELDS.NOT (Received x-other X-EMPTY)')).toBe('Subject: a long\r\n folded subject\r\nfrom: x@example.com\r\nTo: y@example.com,\r\n  z@example.com\r\n\r\n')
  })

  it('no matching field: only the blank line', () => {
    expect(section(raw, 'HEADER.FIELDS (Nope)')).toBe('\r\n')
  })

  it('a field name that is not one (a colon, a space, a line break) is refused: it would be echoed in the reply', () => {
    for (const bad of ['Subject:', 'a b', 'X\r\n* BYE', 'caf\u00e9']) {
      expect(() => parseSection([{type: 'atom', value: 'HEADER.FIELDS'}, {type: 'list', items: [{type: 'string', value: bad}]}]), bad).toThrow(ParseError)
    }
  })

  it('the body is never searched', () => {
    expect(section(raw, 'HEADER.FIELDS (subject)')).not.toContain('body')
  })

  it('a header without a final line break or blank line', () => {
    const bytes = Buffer.from('Subject: s\r\nFrom: f')
    expect(filterHeader(bytes, ['from'], false).toString()).toBe('From: f\r\n\r\n')
    expect(filterHeader(bytes, ['from'], true).toString()).toBe('Subject: s\r\n\r\n')
  })

  it('8-bit header bytes come back unchanged', () => {
    const bytes = Buffer.concat([Buffer.from('Subject: '), Buffer.from('Grüße ☃', 'utf8'), Buffer.from('\r\nX: y\r\n\r\n')])
    expect(filterHeader(bytes, ['SUBJECT'], false)).toEqual(Buffer.concat([Buffer.from('Subject: '), Buffer.from('Grüße ☃', 'utf8'), Buffer.from('\r\n\r\n')]))
  })
})

describe('sections of the whole message without the stored structure', () => {
  const messages = {
    crlf: crlf('From: a@b', 'Subject: x', '', 'body', ''),
    'bare LF': Buffer.from('From: a@b\nSubject: x\n\nbody\n.dot\n'),
    'no blank line': crlf('From: a@b', 'Subject: x'),
    'blank first line': crlf('', 'body only'),
    'header only, blank line last': crlf('From: a@b', '', ''),
    multipart: crlf('Content-Type: multipart/mixed; boundary=q', '', '--q', '', 'one', '--q--', ''),
    empty: Buffer.alloc(0),
  }
  it.each(Object.entries(messages))('%s: HEADER, TEXT and HEADER.FIELDS as with the structure', (_, raw) => {
    for (const spec of ['HEADER', 'TEXT', 'HEADER.FIELDS (SUBJECT)', 'HEADER.FIELDS.NOT (FROM)']) {
      const s = parseSection(nodes(spec))
      expect(sectionBytes(raw, undefined, s)).toEqual(sectionBytes(raw, parseMessage(raw).root, s))
    }
  })

  it('a section with part numbers needs the structure', () => {
    expect(() => sectionBytes(messages.multipart, undefined, parseSection(nodes('1')))).toThrow(/structure/)
  })
})
