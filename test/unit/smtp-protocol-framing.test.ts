/**
 * The SMTP layer's framing (src/smtp/protocol/data-reader.ts, line-reader.ts, replies.ts): the end
 * of DATA only at CRLF.CRLF (smuggling), dot-unstuffing, the same result however the input is cut
 * into chunks, and bounded command lines.
 */
import {describe, expect, it} from 'vitest'
import {DataReader} from '../../src/smtp/protocol/data-reader.js'
import {LineReader, TOO_LONG} from '../../src/smtp/protocol/line-reader.js'
import {errorReply, formatReply} from '../../src/smtp/protocol/replies.js'
import {parsePath} from '../../src/smtp/protocol/address.js'

/** feeds `input` in the given chunks; returns the content and what followed the end (undefined: no end) */
function read(chunks: string[]): {content: string; rest: string | undefined} {
  const pieces: Buffer[] = []
  const reader = new DataReader((p) => pieces.push(Buffer.from(p)))
  let rest: string | undefined
  for (const chunk of chunks) {
    if (rest !== undefined) {
      rest += chunk
      continue
    }
    const r = reader.feed(Buffer.from(chunk, 'latin1'))
    if (r !== undefined) rest = r.toString('latin1')
  }
  const content = Buffer.concat(pieces).toString('latin1')
  expect(reader.bytes).toBe(content.length)
  return {content, rest}
}

/** every way of cutting `input` in two and in three gives the same result as one chunk */
function everySplit(input: string): {content: string; rest: string | undefined} {
  const whole = read([input])
  for (let i = 0; i <= input.length; i++) {
    expect(read([input.slice(0, i), input.slice(i)]), `split at ${i}`).toEqual(whole)
    for (let j = i; j <= input.length; j++) expect(read([input.slice(0, i), input.slice(i, j), input.slice(j)]), `split at ${i},${j}`).toEqual(whole)
  }
  // byte by byte
  expect(read([...input])).toEqual(whole)
  return whole
}

describe('DataReader', () => {
  it('ends at CRLF.CRLF; the content keeps its last CRLF; what follows is returned', () => {
    expect(everySplit('Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n')).toEqual({content: 'Subject: a\r\n\r\nbody\r\n', rest: 'QUIT\r\n'})
  })

  it('an empty message: "." CRLF as the first line', () => {
    expect(everySplit('.\r\nNOOP\r\n')).toEqual({content: '', rest: 'NOOP\r\n'})
  })

  it('dot-unstuffing: a leading ".." loses one dot (after CRLF, a bare LF and at the start)', () => {
    expect(everySplit('..first\r\n..\r\nx\n..y\r\n...z\r\n.\r\n')).toEqual({content: '.first\r\n.\r\nx\n.y\r\n..z\r\n', rest: ''})
  })

  it('smuggling: \\n.\\n, \\r\\n.\\n and \\n.\\r\\n are content, not an end', () => {
    const input = 'a\n.\nMAIL FROM:<x@evil>\r\nb\r\n.\nRCPT TO:<y@evil>\r\nc\n.\r\nDATA\r\n.\r\n'
    expect(everySplit(input)).toEqual({content: 'a\n.\nMAIL FROM:<x@evil>\r\nb\r\n.\nRCPT TO:<y@evil>\r\nc\n.\r\nDATA\r\n', rest: ''})
  })

  it('a lone dot before other text stays, as smtp-server keeps it; ".\\r" not followed by LF is content', () => {
    expect(everySplit('.x\r\n.\rz\r\n.\r\r\n.\r\n')).toEqual({content: '.x\r\n.\rz\r\n.\r\r\n', rest: ''})
  })

  it('no end yet: nothing returned, the held dot not passed on', () => {
    expect(read(['abc\r\n.'])).toEqual({content: 'abc\r\n', rest: undefined})
    expect(read(['abc\r\n.\r'])).toEqual({content: 'abc\r\n', rest: undefined})
  })

  it('passes the chunk itself on when it holds no line-start dot (no copy)', () => {
    const seen: Buffer[] = []
    const reader = new DataReader((p) => seen.push(p))
    const chunk = Buffer.from('x'.repeat(1000) + '\r\n')
    expect(reader.feed(chunk)).toBeUndefined()
    expect(seen).toHaveLength(1)
    expect(seen[0]).toBe(chunk)
  })
})

describe('LineReader', () => {
  it('splits CRLF and bare LF lines, keeps a partial line', () => {
    const r = new LineReader(100)
    r.push(Buffer.from('EHLO a\r\nNOOP\nMAIL'))
    expect([r.next(), r.next(), r.next()]).toEqual(['EHLO a', 'NOOP', undefined])
    r.push(Buffer.from(' FROM:<>\r\n'))
    expect(r.next()).toBe('MAIL FROM:<>')
  })

  it('never holds more than the limit: an over-long line is dropped as it comes and reported once', () => {
    const r = new LineReader(10)
    r.push(Buffer.from('x'.repeat(11)))
    expect(r.next()).toBe(TOO_LONG)
    expect(r.buffered).toBe(0)
    r.push(Buffer.from('y'.repeat(50)))
    expect(r.next()).toBeUndefined()
    expect(r.buffered).toBe(0)
    r.push(Buffer.from('zz\r\nNOOP\r\n'))
    expect(r.next()).toBe('NOOP')
    r.push(Buffer.from('0123456789A\r\n'))
    expect(r.next()).toBe(TOO_LONG)
  })
})

describe('replies', () => {
  it('single and multi-line replies, control characters blanked (no reply splitting)', () => {
    expect(formatReply(250, '2.0.0', 'OK')).toBe('250 2.0.0 OK\r\n')
    expect(formatReply(250, undefined, ['host', 'PIPELINING', 'SIZE 10'])).toBe('250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\n')
    expect(formatReply(550, '5.1.1', 'a\r\n250 ok')).toBe('550 5.1.1 a  250 ok\r\n')
  })

  it("a hook error keeps its own enhanced code; one without gets the basic code's", () => {
    expect(errorReply(Object.assign(new Error('5.7.1 Relaying denied'), {responseCode: 550}), 550)).toBe('550 5.7.1 Relaying denied\r\n')
    expect(errorReply(Object.assign(new Error('try later'), {responseCode: 451}), 550)).toBe('451 4.3.0 try later\r\n')
    expect(errorReply(new Error('no code'), 450)).toBe('450 4.2.1 no code\r\n')
  })
})

describe('parsePath', () => {
  it('MAIL FROM with parameters (keys upper-cased, xtext decoded), the null path, source routes', () => {
    expect(parsePath('MAIL FROM', 'MAIL FROM:<a@b.example> size=100 body=8BITMIME SMTPUTF8')).toEqual({address: 'a@b.example', args: {SIZE: '100', BODY: '8BITMIME', SMTPUTF8: true}})
    expect(parsePath('MAIL FROM', 'mail from: <>')).toEqual({address: '', args: {}})
    expect(parsePath('RCPT TO', 'RCPT TO:<@relay.example:bob@b.example>')).toEqual({address: 'bob@b.example', args: {}})
    expect(parsePath('RCPT TO', 'RCPT TO:<Postmaster>')).toEqual({address: 'Postmaster', args: {}})
  })

  it('refuses bad shapes and control characters; names a repeated parameter', () => {
    for (const bad of ['MAIL FROM:a@b.example', 'MAIL FROM:<a@@b>', 'MAIL FROM:<a@b..c>', 'MAIL FROM:<a\u200b@b.example>', 'MAIL FROM:<a@b.example> X=a+0Db', 'RCPT TO:<a@b.example>']) {
      expect(parsePath('MAIL FROM', bad), bad).toBeUndefined()
    }
    expect(parsePath('MAIL FROM', 'MAIL FROM:<a@b.example> SIZE=1 SIZE=2')?.duplicate).toBe('SIZE')
  })
})
