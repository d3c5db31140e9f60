import {describe, expect, it} from 'vitest'
import {bodyStructure, compactSet, envelope, flagList, mailboxName, nstr, str} from '../../src/imap/format.js'
import {MUTF7_NAMES, UTF8_NAMES} from '../../src/imap/names.js'
import {parseCommand, type Node} from '../../src/imap/parser.js'
import type {Envelope} from '../../src/mime/envelope.js'
import {parseMessage} from '../../src/mime/structure.js'

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8')

/** reads IMAP data back with the command parser (literals split out as the framing layer would) */
function readBack(data: string): Node[] {
  const parts: (string | Buffer)[] = []
  let rest = 'A1 X ' + data
  for (let m = /\{(\d+)\}\r\n/.exec(rest); m; m = /\{(\d+)\}\r\n/.exec(rest)) {
    parts.push(rest.slice(0, m.index))
    const body = Buffer.from(rest.slice(m.index + m[0].length), 'utf8')
    const literal = body.subarray(0, Number(m[1]))
    parts.push(literal)
    rest = body.subarray(literal.length).toString('utf8')
  }
  parts.push(rest)
  return parseCommand(parts).args
}

describe('str: quoted string or literal', () => {
  it.each([
    ['INBOX', '"INBOX"'],
    ['', '""'],
    ['a b', '"a b"'],
    ['a"b', '"a\\"b"'],
    ['a\\b', '"a\\\\b"'],
    ['\\"', '"\\\\\\""'],
    ['(x) {3} [y] % *', '"(x) {3} [y] % *"'],
  ])('%j → %s', (value, out) => {
    expect(str(value)).toBe(out)
  })

  it.each([
    ['héllo', '{6}\r\nhéllo'],
    ['a\r\nb', '{4}\r\na\r\nb'],
    ['a\nb', '{3}\r\na\nb'],
    ['a\rb', '{3}\r\na\rb'],
    ['a\u0000b', '{3}\r\na\u0000b'],
    ['😀', '{4}\r\n😀'],
    ['日本語', '{9}\r\n日本語'],
  ])('%j needs a literal (length in bytes)', (value, out) => {
    expect(str(value)).toBe(out)
  })

  it('long strings become literals', () => {
    expect(str('x'.repeat(1023))).toBe(`"${'x'.repeat(1023)}"`)
    expect(str('x'.repeat(1024))).toBe(`{1024}\r\n${'x'.repeat(1024)}`)
  })

  it('whatever it writes reads back as the same string', () => {
    let seed = 99
    const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n
    const alphabet = ['a', 'Z', ' ', '"', '\\', '(', ')', '{', '}', '\r', '\n', '\r\n', 'é', '😀', '%', '*', '\t', '~']
    for (let i = 0; i < 500; i++) {
      let s = ''
      for (let k = rand(20); k > 0; k--) s += alphabet[rand(alphabet.length)]
      const [node] = readBack(str(s))
      expect(node?.type, JSON.stringify(s)).toBe('string')
      expect(node?.type === 'string' && node.value, JSON.stringify(s)).toBe(s)
    }
  })

  it('nstr: NIL for a missing value, a string otherwise', () => {
    expect(nstr(undefined)).toBe('NIL')
    expect(nstr(null)).toBe('NIL')
    expect(nstr('')).toBe('""')
    expect(nstr('NIL')).toBe('"NIL"')
  })

  it('mailboxName: modified UTF-7 in a quoted string', () => {
    expect(mailboxName('~peter/mail/台北/日本語', MUTF7_NAMES)).toBe('"~peter/mail/&U,BTFw-/&ZeVnLIqe-"')
    expect(mailboxName('Tom & "Jerry"', MUTF7_NAMES)).toBe('"Tom &- \\"Jerry\\""')
  })

  it('mailboxName for a UTF-8 session (RFC 6855 §3): the name as it is, in a quoted string', () => {
    expect(mailboxName('~peter/mail/台北/日本語', UTF8_NAMES)).toBe('"~peter/mail/台北/日本語"')
    expect(mailboxName('Tom & "Jerry"', UTF8_NAMES)).toBe('"Tom & \\"Jerry\\""')
    expect(UTF8_NAMES.decode('&AOQ-')).toBe('&AOQ-')
    expect(MUTF7_NAMES.decode('&AOQ-')).toBe('ä')
    for (const bad of ['a\u0001b', 'a\u0085', 'line\u2028sep', 'bad\ufffdutf8']) expect(UTF8_NAMES.decode(bad)).toBeUndefined()
  })

  it('str: 8-bit text quoted only for a UTF-8 session; CR/LF still a literal', () => {
    expect(str('Grüße')).toBe('{7}\r\nGrüße')
    expect(str('Grüße', true)).toBe('"Grüße"')
    expect(str('a\r\nb', true)).toBe('{4}\r\na\r\nb')
  })

  it('flagList', () => {
    expect(flagList([])).toBe('()')
    expect(flagList(['\\Seen', '$Forwarded'])).toBe('(\\Seen $Forwarded)')
  })
})

describe('envelope', () => {
  it('the RFC 3501 §7.4.2 example', () => {
    const raw = crlf(
      'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
      'From: Terry Gray <gray@cac.washington.edu>',
      'Subject: IMAP4rev1 WG mtg summary and minutes',
      'To: imap@cac.washington.edu',
      'cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>',
      'Message-Id: <B27397-0100000@cac.washington.edu>',
      'MIME-Version: 1.0',
      'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
      '',
      'body',
    )
    expect(envelope(parseMessage(raw).envelope)).toBe(
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")',
    )
  })

  it('no envelope at all: ten NILs', () => {
    expect(envelope(undefined)).toBe('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)')
  })

  it('missing fields and empty address lists are NIL', () => {
    const e: Envelope = {from: [], sender: [], replyTo: [], to: [], cc: [], bcc: []}
    expect(envelope(e)).toBe('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)')
    expect(envelope({...e, subject: '', inReplyTo: '<a@b>'})).toBe('(NIL "" NIL NIL NIL NIL NIL NIL "<a@b>" NIL)')
  })

  it('group syntax: a start with the group name and NIL host, an end of all NILs', () => {
    const e: Envelope = {
      from: [{mailbox: 'a', host: 'x.org'}],
      sender: [],
      replyTo: [],
      to: [{mailbox: 'Friends'}, {mailbox: 'b', host: 'y.org'}, {name: 'Cé "C"', mailbox: 'c', host: 'z.org'}, {}],
      cc: [{mailbox: 'undisclosed-recipients'}, {}],
      bcc: [],
    }
    expect(envelope(e)).toBe(
      '(NIL NIL ((NIL NIL "a" "x.org")) NIL NIL ((NIL NIL "Friends" NIL)(NIL NIL "b" "y.org")({7}\r\nCé "C" NIL "c" "z.org")(NIL NIL NIL NIL)) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)',
    )
  })

  it('a parsed group and a missing Sender/Reply-To (which take From)', () => {
    const raw = crlf('From: a@x.org', 'To: undisclosed-recipients:;', 'Subject: s', '', 'b')
    expect(envelope(parseMessage(raw).envelope)).toBe(
      '(NIL "s" ((NIL NIL "a" "x.org")) ((NIL NIL "a" "x.org")) ((NIL NIL "a" "x.org")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)',
    )
  })

  it('reads back as a list of ten items', () => {
    // (one address per list: the command parser wants spaces between list items, addresses have none)
    const raw = crlf('From: "Ünïcode" <u@x.org>', 'Subject: (parens) "quotes" \\', 'To: a@b.c', '', 'b')
    const [node] = readBack(envelope(parseMessage(raw).envelope))
    expect(node?.type).toBe('list')
    expect(node?.type === 'list' && node.items).toHaveLength(10)
    expect(node?.type === 'list' && node.items[1]).toEqual({type: 'string', value: '(parens) "quotes" \\'})
  })
})

describe('bodyStructure (RFC 3501 §7.4.2 shapes)', () => {
  it('a text part: type, subtype, params, id, description, encoding, size, lines', () => {
    const raw = crlf('Content-Type: TEXT/PLAIN; CHARSET=US-ASCII', '', 'hello', 'world', '')
    const {root} = parseMessage(raw)
    expect(bodyStructure(root, false)).toBe('("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 14 2)')
    // BODYSTRUCTURE adds md5, disposition, language, location
    expect(bodyStructure(root, true)).toBe('("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 14 2 NIL NIL NIL NIL)')
  })

  it('a message without Content-Type is text/plain; charset=us-ascii', () => {
    const {root} = parseMessage(crlf('Subject: x', '', 'body'))
    expect(bodyStructure(root, false)).toBe('("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 4 1)')
  })

  it('the RFC 3501 multipart example', () => {
    const raw = crlf(
      'Content-Type: MULTIPART/MIXED; BOUNDARY="b"',
      '',
      '--b',
      'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
      '',
      'abc',
      'def',
      '--b',
      'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff',
      'Content-ID: <960723163407.20117h@cac.washington.edu>',
      'Content-Description: Compiler diff',
      'Content-Transfer-Encoding: BASE64',
      '',
      'AAEC',
      'AwQF',
      '--b--',
      '',
    )
    const {root} = parseMessage(raw)
    expect(bodyStructure(root, false)).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 8 2)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 10 2) "MIXED")',
    )
    expect(bodyStructure(root, true)).toBe(
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 8 2 NIL NIL NIL NIL)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 10 2 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "b") NIL NIL NIL)',
    )
  })

  it('extension data: md5, disposition with params, language, location', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=b',
      'Content-Language: en',
      '',
      '--b',
      'Content-Type: application/pdf; name="r.pdf"',
      'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="r.pdf"',
      'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
      'Content-Language: de',
      'Content-Location: http://example.com/r.pdf',
      '',
      'JVBE',
      '--b--',
    )
    const {root} = parseMessage(raw)
    expect(bodyStructure(root, true)).toBe(
      '(("APPLICATION" "PDF" ("NAME" "r.pdf") NIL NIL "BASE64" 4 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("ATTACHMENT" ("FILENAME" "r.pdf")) "de" "http://example.com/r.pdf") "MIXED" ("BOUNDARY" "b") NIL "en" NIL)',
    )
    // a non-text leaf has no line count; BODY has no extension data
    expect(bodyStructure(root, false)).toBe('(("APPLICATION" "PDF" ("NAME" "r.pdf") NIL NIL "BASE64" 4) "MIXED")')
  })

  it('nested multiparts', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=o',
      '',
      '--o',
      'Content-Type: multipart/alternative; boundary=i',
      '',
      '--i',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'p',
      '--i',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<b>h</b>',
      '--i--',
      '--o--',
    )
    expect(bodyStructure(parseMessage(raw).root, false)).toBe(
      '((("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 1 1)("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "7BIT" 8 1) "ALTERNATIVE") "MIXED")',
    )
  })

  it('message/rfc822: body fields, then the envelope, the body and the line count of the inner message', () => {
    const inner = 'Subject: inner\r\nFrom: a@b.c\r\n\r\nhi'
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: message/rfc822', '', inner, '--b--', '')
    const {root} = parseMessage(raw)
    const innerEnvelope = '(NIL "inner" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL)'
    expect(bodyStructure(root, false)).toBe(
      `(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" ${inner.length} ${innerEnvelope} ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 2 1) 4) "MIXED")`,
    )
    expect(bodyStructure(root, true)).toBe(
      `(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" ${inner.length} ${innerEnvelope} ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 2 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "b") NIL NIL NIL)`,
    )
  })

  it('reads back as balanced lists, literals included', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain; name="Grüße.txt"', 'Content-Description: a "quoted" (one)', '', 'x', '--b--')
    const text = bodyStructure(parseMessage(raw).root, true)
    expect(text).toContain('{11}\r\nGrüße.txt')
    const [node] = readBack(text)
    expect(node?.type).toBe('list')
  })
})

describe('compactSet', () => {
  it.each<[number[], string]>([
    [[], ''],
    [[5], '5'],
    [[4, 5], '4:5'],
    [[1, 3, 5], '1,3,5'],
    [[1, 2, 3, 7, 9, 10], '1:3,7,9:10'],
    [[1, 2, 3, 4, 100, 101, 4294967295], '1:4,100:101,4294967295'],
  ])('%j → %j', (numbers, out) => {
    expect(compactSet(numbers)).toBe(out)
  })
})
