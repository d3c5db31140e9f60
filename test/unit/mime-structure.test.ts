import {describe, expect, it} from 'vitest'
import {parseMessage, type MimePart} from '../../src/mime/structure.js'
import {seeded} from '../helpers/random.js'

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8')
const lf = (...lines: string[]) => Buffer.from(lines.join('\n'), 'utf8')

const body = (raw: Buffer, p: MimePart) => raw.subarray(p.bodyStart, p.bodyEnd).toString('utf8')
const mimeHeader = (raw: Buffer, p: MimePart) => raw.subarray(p.headerStart, p.bodyStart).toString('utf8')
/** byte offset of a unique marker */
const at = (raw: Buffer, marker: string, from = 0) => {
  const i = raw.indexOf(marker, from, 'utf8')
  if (i === -1) throw new Error(`marker not found: ${marker}`)
  return i
}

/** every part of the tree, including the roots of embedded messages, with its depth */
function walk(root: MimePart): {part: MimePart; depth: number}[] {
  const out: {part: MimePart; depth: number}[] = []
  const visit = (p: MimePart, depth: number) => {
    out.push({part: p, depth})
    for (const c of p.parts ?? []) visit(c, depth + 1)
    if (p.message) visit(p.message.root, depth + 1)
  }
  visit(root, 0)
  return out
}

/** RFC 3501 §6.4.5 section numbers: resolves '2.1.3' to a part */
function section(root: MimePart, spec: string): MimePart {
  let cur = root
  let first = true
  for (const n of spec.split('.').map(Number)) {
    if (!first && cur.message) cur = cur.message.root
    first = false
    if (cur.parts) cur = cur.parts[n - 1]!
    else if (n !== 1) throw new Error(`no part ${spec}`)
    if (!cur) throw new Error(`no part ${spec}`)
  }
  return cur
}

/** offsets are in range and nested inside their parent's body */
function offsetProblems(raw: Buffer, root: MimePart): string[] {
  const problems: string[] = []
  const check = (p: MimePart, lo: number, hi: number, path: string) => {
    const ok =
      Number.isInteger(p.headerStart) &&
      Number.isInteger(p.bodyStart) &&
      Number.isInteger(p.bodyEnd) &&
      lo <= p.headerStart &&
      p.headerStart <= p.bodyStart &&
      p.bodyStart <= p.bodyEnd &&
      p.bodyEnd <= hi &&
      hi <= raw.length &&
      p.lines >= 0
    if (!ok) problems.push(`${path}: headerStart=${p.headerStart} bodyStart=${p.bodyStart} bodyEnd=${p.bodyEnd} allowed=[${lo},${hi}] length=${raw.length}`)
    p.parts?.forEach((c, i) => check(c, p.bodyStart, p.bodyEnd, `${path}.${i + 1}`))
    if (p.message) check(p.message.root, p.bodyStart, p.bodyEnd, `${path}.msg`)
  }
  check(root, 0, raw.length, 'root')
  return problems
}

describe('single-part messages', () => {
  it('text/plain without Content-Type: charset us-ascii, 7bit, lines counted', () => {
    const raw = crlf('From: a@example.com', 'Subject: hi', '', 'line one', 'line two', '')
    const {root, header} = parseMessage(raw)
    expect(root).toEqual({
      headerStart: 0,
      bodyStart: at(raw, 'line one'),
      bodyEnd: raw.length,
      type: 'text',
      subtype: 'plain',
      params: {charset: 'us-ascii'},
      encoding: '7bit',
      lines: 2,
    })
    expect(header.map((f) => f.key)).toEqual(['from', 'subject'])
    expect(section(root, '1')).toBe(root)
  })

  it('a last line without a line break is counted; an empty body has 0 lines', () => {
    const raw = crlf('Subject: hi', '', 'one', '', 'three')
    expect(parseMessage(raw).root.lines).toBe(3)
    const empty = crlf('Subject: hi', '', '')
    const {root} = parseMessage(empty)
    expect(root).toMatchObject({bodyStart: empty.length, bodyEnd: empty.length, lines: 0})
  })

  it('Content-Type without charset gets no default charset; the rest of the fields are kept', () => {
    const raw = crlf(
      'Content-Type: text/plain',
      'Content-Transfer-Encoding: Quoted-Printable',
      'Content-Language: en',
      'Content-Location: http://example.com/a.txt',
      'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
      '',
      'x',
    )
    expect(parseMessage(raw).root).toEqual({
      headerStart: 0,
      bodyStart: raw.length - 1,
      bodyEnd: raw.length,
      type: 'text',
      subtype: 'plain',
      params: {},
      encoding: 'quoted-printable',
      language: 'en',
      location: 'http://example.com/a.txt',
      md5: 'Q2hlY2sgSW50ZWdyaXR5IQ==',
      lines: 1,
    })
  })

  it('type and subtype lowercased, params kept', () => {
    const {root} = parseMessage(crlf('Content-Type: Text/HTML; Charset="UTF-8"', '', '<p>x</p>'))
    expect(root).toMatchObject({type: 'text', subtype: 'html', params: {charset: 'UTF-8'}, lines: 1})
  })

  it('non-text single part has no line count', () => {
    const {root} = parseMessage(crlf('Content-Type: image/png', 'Content-Transfer-Encoding: base64', '', 'iVBORw0KGgo=', 'AAAA', ''))
    expect(root).toMatchObject({type: 'image', subtype: 'png', params: {}, encoding: 'base64', lines: 0})
    expect(root.parts).toBeUndefined()
  })

  it('header only (no blank line): the body is empty at the end', () => {
    const raw = crlf('Subject: only header', 'From: a@b.c', '')
    const {root, envelope} = parseMessage(raw)
    expect(root).toMatchObject({headerStart: 0, bodyStart: raw.length, bodyEnd: raw.length, lines: 0})
    expect(envelope.subject).toBe('only header')
  })

  it('no header (starts with a bare-LF blank line): everything after it is body', () => {
    const raw = lf('', 'Subject: not a header', '', 'text')
    const {root, header} = parseMessage(raw)
    expect(header).toEqual([])
    expect(root).toMatchObject({headerStart: 0, bodyStart: 1, bodyEnd: raw.length, lines: 3})
  })

  it('no header (starts with a CRLF blank line): everything after it is body', () => {
    const raw = crlf('', 'Subject: not a header', '', 'text')
    const {root, header} = parseMessage(raw)
    expect(header).toEqual([])
    expect(root).toMatchObject({headerStart: 0, bodyStart: 2, bodyEnd: raw.length, lines: 3})
  })
})

const alternative = crlf(
  'From: a@example.com',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  '--alt',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'plain body',
  '--alt',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>html body</p>',
  '--alt--',
  '',
)

const mixed = crlf(
  'From: a@example.com',
  'Subject: mixed',
  'Content-Type: multipart/mixed;',
  '\tboundary="mixed"',
  '',
  'This is the preamble. It mentions --mixed in passing.',
  '--mixed',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  '--alt',
  'Content-Type: text/plain; charset="iso-8859-1"',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Caf=E9',
  'second line',
  '--alt',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<b>Café</b>',
  '--alt--',
  '',
  '--mixed',
  'Content-Type: application/pdf; name="report.pdf"',
  'Content-Transfer-Encoding: BASE64',
  'Content-Disposition: attachment; filename="report.pdf"; size=12',
  'Content-ID: <pdf1@example.com>',
  'Content-Description: The report',
  '',
  'JVBERi0xLjQK',
  'JUVPRgo=',
  '--mixed--',
  'This is the epilogue.',
  '--mixed',
  'Content-Type: text/plain',
  '',
  'ghost part after the closing delimiter',
  '',
)

describe('multipart', () => {
  it('multipart/alternative: two parts, bodies exactly as written', () => {
    const raw = alternative
    const {root} = parseMessage(raw)
    expect(root).toMatchObject({type: 'multipart', subtype: 'alternative', params: {boundary: 'alt'}, headerStart: 0, bodyStart: at(raw, '--alt'), bodyEnd: raw.length, lines: 0})
    expect(root.parts).toHaveLength(2)
    const [plain, html] = root.parts!
    expect(plain).toEqual({
      headerStart: at(raw, 'Content-Type: text/plain'),
      bodyStart: at(raw, 'plain body'),
      bodyEnd: at(raw, 'plain body') + 'plain body'.length,
      type: 'text',
      subtype: 'plain',
      params: {charset: 'utf-8'},
      encoding: '7bit',
      lines: 1,
    })
    expect(html).toMatchObject({headerStart: at(raw, 'Content-Type: text/html'), type: 'text', subtype: 'html', lines: 1})
    expect(body(raw, plain!)).toBe('plain body')
    expect(body(raw, html!)).toBe('<p>html body</p>')
    expect(mimeHeader(raw, plain!)).toBe('Content-Type: text/plain; charset=utf-8\r\n\r\n')
  })

  it('multipart/mixed with a nested alternative and a base64 attachment', () => {
    const raw = mixed
    const {root} = parseMessage(raw)
    expect(root).toMatchObject({type: 'multipart', subtype: 'mixed', params: {boundary: 'mixed'}})
    // preamble and epilogue (even one that looks like another part) are not parts
    expect(root.parts).toHaveLength(2)
    const [alt, pdf] = root.parts!

    expect(alt).toMatchObject({
      type: 'multipart',
      subtype: 'alternative',
      params: {boundary: 'alt'},
      headerStart: at(raw, 'Content-Type: multipart/alternative'),
      bodyStart: at(raw, '--alt'),
      lines: 0,
    })
    // the blank line after '--alt--' is epilogue of the inner multipart; the CRLF before '--mixed' is the delimiter's
    expect(body(raw, alt!)).toBe(
      '--alt\r\nContent-Type: text/plain; charset="iso-8859-1"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9\r\nsecond line\r\n' +
        '--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>Café</b>\r\n--alt--\r\n',
    )
    expect(alt!.parts).toHaveLength(2)
    const [plain, html] = alt!.parts!
    expect(plain).toEqual({
      headerStart: at(raw, 'Content-Type: text/plain; charset="iso'),
      bodyStart: at(raw, 'Caf=E9'),
      bodyEnd: at(raw, 'second line') + 'second line'.length,
      type: 'text',
      subtype: 'plain',
      params: {charset: 'iso-8859-1'},
      encoding: 'quoted-printable',
      lines: 2,
    })
    expect(body(raw, plain!)).toBe('Caf=E9\r\nsecond line')
    expect(html).toMatchObject({type: 'text', subtype: 'html', params: {charset: 'utf-8'}, lines: 1})
    expect(body(raw, html!)).toBe('<b>Café</b>')

    expect(pdf).toEqual({
      headerStart: at(raw, 'Content-Type: application/pdf'),
      bodyStart: at(raw, 'JVBERi0'),
      bodyEnd: at(raw, '\r\n--mixed--'),
      type: 'application',
      subtype: 'pdf',
      params: {name: 'report.pdf'},
      encoding: 'base64',
      disposition: {value: 'attachment', params: {filename: 'report.pdf', size: '12'}},
      id: '<pdf1@example.com>',
      description: 'The report',
      lines: 0,
    })
    expect(body(raw, pdf!)).toBe('JVBERi0xLjQK\r\nJUVPRgo=')
    expect(Buffer.from(body(raw, pdf!), 'base64').toString('latin1')).toBe('%PDF-1.4\n%EOF\n')
  })

  it('IMAP sections are slices of the raw bytes (RFC 3501 §6.4.5 numbering)', () => {
    const raw = mixed
    const {root} = parseMessage(raw)
    expect(body(raw, section(root, '1.1'))).toBe('Caf=E9\r\nsecond line')
    expect(body(raw, section(root, '1.2'))).toBe('<b>Café</b>')
    expect(mimeHeader(raw, section(root, '1.2'))).toBe('Content-Type: text/html; charset=utf-8\r\n\r\n')
    expect(section(root, '2').subtype).toBe('pdf')
    // BODY[TEXT] of the message: everything after the top-level header
    expect(raw.subarray(root.bodyStart, root.bodyEnd).toString('utf8')).toMatch(/^This is the preamble\..*ghost part after the closing delimiter\r\n$/s)
    expect(mimeHeader(raw, root)).toBe('From: a@example.com\r\nSubject: mixed\r\nContent-Type: multipart/mixed;\r\n\tboundary="mixed"\r\n\r\n')
  })

  it('message/rfc822 attachment: envelope and inner structure with offsets in the outer message', () => {
    const inner = [
      'From: "Inner Sender" <inner@example.org>',
      'To: dest@example.net',
      'Subject: =?UTF-8?Q?Inner_subject?=',
      'Message-ID: <inner@example.org>',
      'Content-Type: multipart/alternative; boundary=in',
      '',
      '--in',
      'Content-Type: text/plain',
      '',
      'inner text',
      '--in',
      'Content-Type: text/html',
      '',
      '<i>inner</i>',
      '--in--',
    ]
    const raw = crlf(
      'From: outer@example.com',
      'Subject: Fwd: inner',
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: text/plain',
      '',
      'See attached.',
      '--outer',
      'Content-Type: message/rfc822',
      'Content-Disposition: attachment',
      '',
      ...inner,
      '--outer--',
      '',
    )
    const {root, envelope} = parseMessage(raw)
    expect(envelope.subject).toBe('Fwd: inner')
    expect(root.parts).toHaveLength(2)
    const msg = root.parts![1]!
    expect(msg).toMatchObject({
      type: 'message',
      subtype: 'rfc822',
      params: {},
      encoding: '7bit',
      disposition: {value: 'attachment', params: {}},
      headerStart: at(raw, 'Content-Type: message/rfc822'),
      bodyStart: at(raw, 'From: "Inner'),
      bodyEnd: at(raw, '\r\n--outer--'),
      lines: inner.length,
    })
    expect(body(raw, msg)).toBe(inner.join('\r\n'))
    expect(msg.message!.envelope).toEqual({
      subject: '=?UTF-8?Q?Inner_subject?=',
      from: [{name: 'Inner Sender', mailbox: 'inner', host: 'example.org'}],
      sender: [{name: 'Inner Sender', mailbox: 'inner', host: 'example.org'}],
      replyTo: [{name: 'Inner Sender', mailbox: 'inner', host: 'example.org'}],
      to: [{mailbox: 'dest', host: 'example.net'}],
      cc: [],
      bcc: [],
      messageId: '<inner@example.org>',
    })
    const innerRoot = msg.message!.root
    expect(innerRoot).toMatchObject({
      type: 'multipart',
      subtype: 'alternative',
      params: {boundary: 'in'},
      headerStart: msg.bodyStart,
      bodyStart: at(raw, '--in'),
      bodyEnd: msg.bodyEnd,
    })
    expect(innerRoot.parts).toHaveLength(2)
    expect(innerRoot.parts![0]).toMatchObject({bodyStart: at(raw, 'inner text'), bodyEnd: at(raw, 'inner text') + 10, lines: 1})
    // BODY[2.HEADER], BODY[2.TEXT], BODY[2.1], BODY[2.2]
    expect(raw.subarray(innerRoot.headerStart, innerRoot.bodyStart).toString()).toBe(inner.slice(0, 6).join('\r\n') + '\r\n')
    expect(raw.subarray(innerRoot.bodyStart, innerRoot.bodyEnd).toString()).toBe(inner.slice(6).join('\r\n'))
    expect(body(raw, section(root, '2.1'))).toBe('inner text')
    expect(body(raw, section(root, '2.2'))).toBe('<i>inner</i>')
    expect(offsetProblems(raw, root)).toEqual([])
  })

  it('message/rfc822 with a single-part inner message: section 2.1 is its body', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: message/rfc822', '', 'Subject: in', '', 'hello', '--b--')
    const {root} = parseMessage(raw)
    const msg = root.parts![0]!
    expect(msg.message!.envelope.subject).toBe('in')
    expect(msg.message!.root).toMatchObject({type: 'text', subtype: 'plain', params: {charset: 'us-ascii'}, lines: 1})
    expect(body(raw, section(root, '1.1'))).toBe('hello')
    expect(msg.lines).toBe(3)
  })

  it('multipart/digest: children without Content-Type default to message/rfc822', () => {
    const raw = crlf(
      'Content-Type: multipart/digest; boundary=d',
      '',
      '--d',
      'Content-Description: first',
      '',
      'From: one@example.com',
      'Subject: first message',
      '',
      'body one',
      '--d',
      'Content-Type: text/plain',
      '',
      'a text part in a digest',
      '--d--',
    )
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(2)
    const [first, second] = root.parts!
    expect(first).toMatchObject({type: 'message', subtype: 'rfc822', params: {}, description: 'first', lines: 4})
    expect(first!.message!.envelope.subject).toBe('first message')
    expect(first!.message!.envelope.from).toEqual([{mailbox: 'one', host: 'example.com'}])
    expect(body(raw, first!.message!.root)).toBe('body one')
    expect(second).toMatchObject({type: 'text', subtype: 'plain', params: {}})
    expect(second!.message).toBeUndefined()
  })

  it('a digest child defaults to message/rfc822 only directly inside the digest', () => {
    const raw = lf('Content-Type: multipart/digest; boundary=d', '', '--d', 'Content-Type: multipart/mixed; boundary=m', '', '--m', 'X-A: 1', '', 'plain', '--m--', '--d--')
    const leaf = parseMessage(raw).root.parts![0]!.parts![0]!
    expect(leaf).toMatchObject({type: 'text', subtype: 'plain', params: {charset: 'us-ascii'}})
  })

  it('boundary-looking text not at line start or with trailing garbage is not a delimiter', () => {
    const content = ['before', ' --b', 'x--b', '--bx', '--b-', '--b--x', '--b trailing', '--b-- trailing', 'see --b here', 'after']
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', ...content, '--b', 'Content-Type: text/plain', '', 'second', '--b--', '')
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(2)
    expect(body(raw, root.parts![0]!)).toBe(content.join('\r\n'))
    expect(root.parts![0]!.lines).toBe(content.length)
    expect(body(raw, root.parts![1]!)).toBe('second')
  })

  it('a missing closing delimiter: the last part runs to the end', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'first', '--b', 'Content-Type: text/plain', '', 'second', 'truncated here')
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(2)
    expect(body(raw, root.parts![0]!)).toBe('first')
    expect(root.parts![1]!.bodyEnd).toBe(raw.length)
    expect(body(raw, root.parts![1]!)).toBe('second\r\ntruncated here')
    expect(root.parts![1]!.lines).toBe(2)
  })

  it('an empty multipart (no delimiter) gets one empty text/plain placeholder', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', 'no delimiters here', '')
    const {root} = parseMessage(raw)
    const bodyStart = at(raw, 'no delimiters')
    expect(root).toMatchObject({type: 'multipart', subtype: 'mixed', bodyStart, bodyEnd: raw.length})
    expect(root.parts).toEqual([
      {headerStart: bodyStart, bodyStart, bodyEnd: raw.length, type: 'text', subtype: 'plain', params: {charset: 'us-ascii'}, encoding: '7bit', lines: 0},
    ])
  })

  it('only a closing delimiter: one placeholder too', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b--', '')
    expect(parseMessage(raw).root.parts).toHaveLength(1)
    expect(parseMessage(raw).root.parts![0]).toMatchObject({type: 'text', subtype: 'plain', lines: 0})
  })

  it('empty parts between adjacent delimiters', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '--b', 'Content-Type: text/plain', '', 'x', '--b--')
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(2)
    const empty = root.parts![0]!
    expect(empty).toMatchObject({headerStart: at(raw, '--b\r\n--b') + 5, bodyEnd: at(raw, '--b\r\n--b') + 5, type: 'text', params: {charset: 'us-ascii'}, lines: 0})
    expect(empty.bodyStart).toBe(empty.bodyEnd)
    expect(body(raw, root.parts![1]!)).toBe('x')
  })

  it('a part with a header and an empty body (blank line right before the next delimiter)', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', '--b', 'Content-Type: text/plain', '', 'x', '--b--')
    const {root} = parseMessage(raw)
    const first = root.parts![0]!
    expect(first.headerStart).toBe(at(raw, 'Content-Type: text/plain'))
    expect(first.bodyEnd).toBe(at(raw, '\r\n--b\r\nContent-Type: text/plain\r\n\r\nx'))
    expect(first.bodyStart).toBeLessThanOrEqual(first.bodyEnd)
    expect(body(raw, first)).toBe('')
    expect(offsetProblems(raw, root)).toEqual([])
  })

  it('transport padding after delimiters', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b   ', 'Content-Type: text/plain', '', 'one', '--b\t ', 'Content-Type: text/plain', '', 'two', '--b-- \t', 'epilogue')
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(2)
    expect(root.parts![0]!.headerStart).toBe(at(raw, 'Content-Type: text/plain'))
    expect(body(raw, root.parts![0]!)).toBe('one')
    expect(body(raw, root.parts![1]!)).toBe('two')
  })

  it('LF-only line endings: no trailing LF in part bodies', () => {
    const raw = lf(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      'preamble',
      '--b',
      'Content-Type: multipart/alternative; boundary=a',
      '',
      '--a',
      'Content-Type: text/plain',
      '',
      'plain 1',
      'plain 2',
      '--a',
      'Content-Type: text/html',
      '',
      '<p>h</p>',
      '--a--',
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename=x.bin',
      '',
      'AAAA',
      '--b--',
      '',
    )
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(2)
    const [alt, bin] = root.parts!
    expect(alt!.parts).toHaveLength(2)
    expect(alt!.parts![0]).toMatchObject({headerStart: at(raw, 'Content-Type: text/plain'), bodyStart: at(raw, 'plain 1'), lines: 2})
    expect(body(raw, alt!.parts![0]!)).toBe('plain 1\nplain 2')
    expect(body(raw, alt!.parts![1]!)).toBe('<p>h</p>')
    expect(body(raw, alt!)).toBe('--a\nContent-Type: text/plain\n\nplain 1\nplain 2\n--a\nContent-Type: text/html\n\n<p>h</p>\n--a--')
    expect(bin).toMatchObject({type: 'application', subtype: 'octet-stream', disposition: {value: 'attachment', params: {filename: 'x.bin'}}})
    expect(body(raw, bin!)).toBe('AAAA')
  })

  it('a boundary with special characters (quoted in the header)', () => {
    const boundary = "=_(a+b),c.d/e:f?g h'"
    const raw = crlf(
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain',
      '',
      'one',
      `--${boundary}`,
      'Content-Type: text/plain',
      '',
      'two',
      `--${boundary}--`,
    )
    const {root} = parseMessage(raw)
    expect(root.params.boundary).toBe(boundary)
    expect(root.parts!.map((p) => body(raw, p))).toEqual(['one', 'two'])
  })

  it('a nested boundary that extends the outer one is not the outer delimiter', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: multipart/alternative; boundary=b-inner',
      '',
      '--b-inner',
      'Content-Type: text/plain',
      '',
      'in',
      '--b-inner--',
      '--b',
      'Content-Type: text/plain',
      '',
      'out',
      '--b--',
    )
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(2)
    expect(root.parts![0]!.parts!.map((p) => body(raw, p))).toEqual(['in'])
    expect(body(raw, root.parts![1]!)).toBe('out')
  })

  it('multipart without a boundary parameter is not split: one empty text/plain child (IMAP needs one)', () => {
    const raw = crlf('Content-Type: multipart/mixed', '', '--b', 'Content-Type: text/plain', '', 'x', '--b--')
    const {root} = parseMessage(raw)
    expect(root).toMatchObject({type: 'multipart', subtype: 'mixed', bodyStart: at(raw, '--b'), bodyEnd: raw.length})
    expect(root.parts).toHaveLength(1)
    expect(root.parts![0]).toMatchObject({type: 'text', subtype: 'plain', bodyStart: at(raw, '--b'), bodyEnd: raw.length, lines: 0})
  })
})

describe('parts without a header (blank line right after the delimiter)', () => {
  it('LF: default text/plain, body after the blank line', () => {
    const raw = lf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'Note: looks like a field', '', 'para 2', '--b--')
    const part = parseMessage(raw).root.parts![0]!
    expect(part).toMatchObject({headerStart: at(raw, '\nNote') , bodyStart: at(raw, 'Note'), type: 'text', subtype: 'plain', params: {charset: 'us-ascii'}, lines: 3})
    expect(body(raw, part)).toBe('Note: looks like a field\n\npara 2')
  })

  it('CRLF: default text/plain, body after the blank line', () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'Note: looks like a field', '', 'para 2', '--b--')
    const part = parseMessage(raw).root.parts![0]!
    expect(part).toMatchObject({headerStart: at(raw, '\r\nNote'), bodyStart: at(raw, 'Note'), type: 'text', subtype: 'plain', params: {charset: 'us-ascii'}, lines: 3})
    expect(body(raw, part)).toBe('Note: looks like a field\r\n\r\npara 2')
  })

  it('CRLF digest in the RFC 2046 §5.1.5 layout: the embedded message keeps its header', () => {
    const raw = crlf(
      'Content-Type: multipart/digest; boundary=d',
      '',
      '--d',
      '',
      'From: one@example.com',
      'Subject: first message',
      '',
      'body one',
      '--d--',
    )
    const part = parseMessage(raw).root.parts![0]!
    expect(part).toMatchObject({type: 'message', subtype: 'rfc822', bodyStart: at(raw, 'From: one')})
    expect(part.message!.envelope.subject).toBe('first message')
    expect(body(raw, part.message!.root)).toBe('body one')
  })
})

describe('limits', () => {
  it('deeply nested multiparts beyond the depth limit: no crash, bounded depth', () => {
    const levels = 300
    let msg = 'Content-Type: text/plain\r\n\r\ndeepest\r\n'
    for (let i = levels - 1; i >= 0; i--) {
      msg = `Content-Type: multipart/mixed; boundary=b${i}x\r\n\r\n--b${i}x\r\n${msg}\r\n--b${i}x--\r\n`
    }
    const raw = Buffer.from(msg)
    const started = Date.now()
    const {root} = parseMessage(raw)
    expect(Date.now() - started).toBeLessThan(2000)
    const all = walk(root)
    const maxDepth = Math.max(...all.map((x) => x.depth))
    expect(maxDepth).toBeGreaterThanOrEqual(8)
    // 32 levels of multipart, then the placeholder child of the last one
    expect(maxDepth).toBeLessThanOrEqual(33)
    expect(all.length).toBeLessThanOrEqual(34)
    expect(all.some((x) => x.part.subtype === 'plain' && x.part.type === 'text' && body(raw, x.part) === 'deepest')).toBe(false)
    expect(offsetProblems(raw, root)).toEqual([])
  })

  it('deeply nested message/rfc822: no crash, bounded depth', () => {
    const raw = Buffer.from('Content-Type: message/rfc822\r\n\r\n'.repeat(5000) + 'Subject: deep\r\n\r\nbody\r\n')
    const {root} = parseMessage(raw)
    const all = walk(root)
    expect(Math.max(...all.map((x) => x.depth))).toBeLessThanOrEqual(32)
    expect(all.length).toBeLessThanOrEqual(33)
    expect(offsetProblems(raw, root)).toEqual([])
  })

  it('nested multiparts with many parts: the part budget stops descent', () => {
    let msg = 'Content-Type: multipart/mixed; boundary=top\r\n\r\n'
    for (let i = 0; i < 50; i++) {
      msg += `--top\r\nContent-Type: multipart/mixed; boundary=in${i}\r\n\r\n`
      for (let j = 0; j < 100; j++) msg += `--in${i}\r\nContent-Type: text/plain\r\n\r\n${i}.${j}\r\n`
      msg += `--in${i}--\r\n`
    }
    msg += '--top--\r\n'
    const raw = Buffer.from(msg)
    const {root} = parseMessage(raw)
    expect(root.parts).toHaveLength(50)
    const count = walk(root).length
    expect(count).toBeGreaterThanOrEqual(2000)
    expect(count).toBeLessThan(2200)
    // the last multiparts are kept, but not split: each has only the placeholder child
    expect(root.parts![49]).toMatchObject({type: 'multipart', subtype: 'mixed'})
    expect(root.parts![49]!.parts).toHaveLength(1)
    expect(root.parts![49]!.parts![0]).toMatchObject({type: 'text', subtype: 'plain', lines: 0})
  })

  it('a flat multipart with more parts than MAX_PARTS (2000) yields a bounded tree', () => {
    let msg = 'Content-Type: multipart/mixed; boundary=b\r\n\r\n'
    for (let j = 0; j < 10_000; j++) msg += `--b\r\nContent-Type: text/plain\r\n\r\n${j}\r\n`
    msg += '--b--\r\n'
    const raw = Buffer.from(msg)
    const {root} = parseMessage(raw)
    expect(body(raw, root.parts![0]!)).toBe('0')
    expect(walk(root).length).toBeLessThanOrEqual(2001)
  })
})


describe('malformed input fuzz', () => {
  const seeds: Buffer[] = [
    alternative,
    mixed,
    Buffer.from(mixed.toString('utf8').replace(/\r\n/g, '\n')),
    crlf('Content-Type: multipart/mixed; boundary=outer', '', '--outer', 'Content-Type: message/rfc822', '', 'Subject: in', 'Content-Type: multipart/alternative; boundary=in', '', '--in', '', 'x', '--in--', '--outer--', ''),
    crlf('Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: a', '', 'b', '--d', 'Content-Type: text/plain', '', '', '--d--'),
    crlf('Subject: plain', '', 'hello', ''),
  ]
  const fragments = ['\r\n', '\n', '\r', '--', '--alt', '--mixed', '--outer--', '--d', ':', ';', '"', '\r\n\r\n', 'Content-Type: multipart/mixed; boundary=alt\r\n', 'Content-Type: message/rfc822\r\n\r\n', ' ', '\t']

  it('never throws and keeps every offset within the message and its parent', () => {
    const next = seeded(20240601)
    const int = (n: number) => Math.floor(next() * n)
    const problems: string[] = []
    const run = (raw: Buffer) => {
      let parsed
      try {
        parsed = parseMessage(raw)
      } catch (err) {
        problems.push(`threw ${(err as Error).message} on ${JSON.stringify(raw.toString('latin1'))}`)
        return
      }
      const p = offsetProblems(raw, parsed.root)
      if (p.length) problems.push(`${p[0]} on ${JSON.stringify(raw.toString('latin1'))}`)
    }
    for (let i = 0; i < 600; i++) {
      const seed = seeds[int(seeds.length)]!
      let bytes = Buffer.from(seed)
      const mutations = 1 + int(6)
      for (let m = 0; m < mutations; m++) {
        const pos = int(bytes.length + 1)
        switch (int(6)) {
          case 0: // truncate
            bytes = bytes.subarray(0, pos)
            break
          case 1: // flip a byte
            if (bytes.length) {
              bytes = Buffer.from(bytes)
              bytes[int(bytes.length)] = int(256)
            }
            break
          case 2: // insert a structural fragment
            bytes = Buffer.concat([bytes.subarray(0, pos), Buffer.from(fragments[int(fragments.length)]!), bytes.subarray(pos)])
            break
          case 3: // delete a range
            bytes = Buffer.concat([bytes.subarray(0, pos), bytes.subarray(pos + int(40))])
            break
          case 4: // duplicate a range
            bytes = Buffer.concat([bytes.subarray(0, pos), bytes.subarray(pos, pos + int(80)), bytes.subarray(pos)])
            break
          default: // cut from the front
            bytes = bytes.subarray(int(Math.min(bytes.length, 30)))
        }
      }
      run(bytes)
    }
    for (let i = 0; i < 100; i++) {
      const random = Buffer.alloc(int(300))
      for (let j = 0; j < random.length; j++) random[j] = next() < 0.2 ? [0x0a, 0x0d, 0x2d, 0x3a][int(4)]! : int(256)
      run(random)
    }
    run(Buffer.alloc(0))
    expect(problems.length, problems.slice(0, 3).join('\n')).toBe(0)
  })
})
