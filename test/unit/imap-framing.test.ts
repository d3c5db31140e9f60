import {describe, expect, it} from 'vitest'
import {Framing, type FramingLimits} from '../../src/imap/framing.js'
import {parseCommand} from '../../src/imap/parser.js'

type Event =
  | {type: 'command'; parts: (string | Buffer)[]}
  | {type: 'line'; text: string}
  | {type: 'continue'; size: number}
  | {type: 'refused'; tag: string; reason: string; fatal?: true}

function setup(limits: Partial<FramingLimits> = {}) {
  const events: Event[] = []
  const framing = new Framing(
    {maxLineLength: 1000, maxLiteralSize: 1000, ...limits},
    {
      command: (parts) => events.push({type: 'command', parts}),
      line: (text) => events.push({type: 'line', text}),
      continueLiteral: (size) => events.push({type: 'continue', size}),
      refused: (tag, reason, fatal) => events.push(fatal ? {type: 'refused', tag, reason, fatal} : {type: 'refused', tag, reason}),
    },
  )
  const push = (data: string | Buffer) => framing.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
  return {events, framing, push}
}

const cmd = (...parts: (string | Buffer)[]): Event => ({type: 'command', parts})
const b = (s: string) => Buffer.from(s, 'latin1')

/** the events produced by feeding `input` cut at the given offsets */
function feed(input: Buffer, cuts: number[], limits: Partial<FramingLimits> = {}): Event[] {
  const {events, push} = setup(limits)
  let from = 0
  for (const cut of [...cuts, input.length]) {
    push(input.subarray(from, cut))
    from = cut
  }
  return events
}

/** Buffers are compared by content; vitest's toEqual does that, this only makes failures readable */
const show = (events: Event[]) => events.map((e) => (e.type === 'command' ? {...e, parts: e.parts.map((p) => (Buffer.isBuffer(p) ? `<${p.toString('latin1')}>` : p))} : e))

describe('Framing: commands and literals', () => {
  it('splits CRLF-terminated lines into commands', () => {
    const {events, push} = setup()
    push('A1 NOOP\r\nA2 CAPABILITY\r\n')
    expect(events).toEqual([cmd('A1 NOOP'), cmd('A2 CAPABILITY')])
  })

  it('accepts a bare LF as a line end', () => {
    const {events, push} = setup()
    push('A1 NOOP\nA2 LOGIN {3}\nbob {2+}\nxy\n')
    expect(events).toEqual([cmd('A1 NOOP'), {type: 'continue', size: 3}, cmd('A2 LOGIN ', b('bob'), ' ', b('xy'), '')])
  })

  it('hands over literals as Buffers between the text pieces; asks for continuation only for {n}', () => {
    const {events, push} = setup()
    push('A1 LOGIN {3}\r\n')
    expect(events).toEqual([{type: 'continue', size: 3}])
    push('bob {6+}\r\nsecret\r\n')
    expect(events).toEqual([{type: 'continue', size: 3}, cmd('A1 LOGIN ', b('bob'), ' ', b('secret'), '')])
    expect(parseCommand((events[1] as {parts: (string | Buffer)[]}).parts)).toMatchObject({tag: 'A1', name: 'LOGIN', args: [{value: 'bob'}, {value: 'secret'}]})
  })

  it('a LITERAL+ literal never triggers a continuation request', () => {
    const {events, push} = setup()
    push('A1 APPEND INBOX {5+}\r\nhello\r\n')
    expect(events).toEqual([cmd('A1 APPEND INBOX ', b('hello'), '')])
  })

  it('empty literals, {0} and {0+}', () => {
    const {events, push} = setup()
    push('A1 LOGIN {0}\r\n {0+}\r\n\r\nA2 NOOP\r\n')
    expect(events).toEqual([{type: 'continue', size: 0}, cmd('A1 LOGIN ', Buffer.alloc(0), ' ', Buffer.alloc(0), ''), cmd('A2 NOOP')])
  })

  it('literal bytes are taken as they are: CRLF, "{5}" and 8-bit bytes inside a literal are data', () => {
    const data = Buffer.concat([b('line1\r\nA9 LOGOUT\r\n{5}\r\n'), Buffer.from([0x00, 0xff, 0x80, 0x0a])])
    const {events, push} = setup()
    push(Buffer.concat([b(`A1 APPEND INBOX {${data.length}+}\r\n`), data, b('\r\nA2 NOOP\r\n')]))
    expect(events).toEqual([cmd('A1 APPEND INBOX ', data, ''), cmd('A2 NOOP')])
  })

  it('text after a literal continues the same command, up to the line end', () => {
    const {events, push} = setup()
    push('A1 APPEND INBOX (\\Seen) {2+}\r\nab {2+}\r\ncd (x)\r\n')
    expect(events).toEqual([cmd('A1 APPEND INBOX (\\Seen) ', b('ab'), ' ', b('cd'), ' (x)')])
  })

  it('a brace that is not at the end of the line is not a literal', () => {
    const {events, push} = setup()
    push('A1 SEARCH SUBJECT "{5}" ALL\r\nA2 X {5}a\r\nA3 X {5+} \r\n')
    expect(events).toEqual([cmd('A1 SEARCH SUBJECT "{5}" ALL'), cmd('A2 X {5}a'), cmd('A3 X {5+} ')])
  })

  it('an empty line is an (empty) command for the parser to refuse', () => {
    const {events, push} = setup()
    push('\r\nA1 NOOP\r\n')
    expect(events).toEqual([cmd(''), cmd('A1 NOOP')])
  })

  it('keeps UTF-8 text in command lines', () => {
    const {events, push} = setup()
    push(Buffer.from('A1 SELECT "Grüße 😀"\r\n', 'utf8'))
    expect(events).toEqual([cmd('A1 SELECT "Grüße 😀"')])
  })
})

describe('Framing: the same events whatever the chunking', () => {
  const literal = Buffer.concat([b('Subject: hi\r\n\r\n{3}\r\n'), Buffer.from([0xc3, 0xa9, 0x00, 0x0d])])
  const input = Buffer.concat([
    b('A1 NOOP\r\n'),
    b(`A2 APPEND INBOX (\\Seen) {${literal.length}}\r\n`),
    literal,
    b(' {4+}\r\nabcd\r\n'),
    b('A3 LOGIN {0}\r\n {3+}\r\nx\ny\r\n'),
    b('A4 FETCH 1 BODY[]\n'),
  ])
  const expected: Event[] = [
    cmd('A1 NOOP'),
    {type: 'continue', size: literal.length},
    cmd('A2 APPEND INBOX (\\Seen) ', literal, ' ', b('abcd'), ''),
    {type: 'continue', size: 0},
    cmd('A3 LOGIN ', Buffer.alloc(0), ' ', b('x\ny'), ''),
    cmd('A4 FETCH 1 BODY[]'),
  ]

  it('all at once', () => {
    expect(show(feed(input, []))).toEqual(show(expected))
    expect(feed(input, [])).toEqual(expected)
  })

  it('cut once at every byte position', () => {
    for (let i = 0; i <= input.length; i++) {
      const events = feed(input, [i])
      expect(show(events), `cut at ${i}`).toEqual(show(expected))
      expect(events, `cut at ${i}`).toEqual(expected)
    }
  })

  it('cut twice at every pair of byte positions', () => {
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        const events = feed(input, [i, j])
        if (JSON.stringify(show(events)) !== JSON.stringify(show(expected))) expect(show(events), `cuts at ${i}, ${j}`).toEqual(show(expected))
      }
    }
  })

  it('one byte at a time', () => {
    expect(feed(input, Array.from({length: input.length}, (_, i) => i))).toEqual(expected)
  })

  it('with limits in play: refusals are the same whatever the chunking', () => {
    const long = 'A1 LOGIN ' + 'x'.repeat(80) + '\r\n'
    const data = Buffer.concat([b(long), b('A2 APPEND INBOX {31}\r\nA3 NOOP\r\nA4 APPEND INBOX {30+}\r\n'), b('y'.repeat(30)), b('\r\nA5 NOOP\r\n')])
    const limits = {maxLineLength: 50, maxLiteralSize: 20}
    const want: Event[] = [
      {type: 'refused', tag: 'A1', reason: 'line-too-long'},
      {type: 'refused', tag: 'A2', reason: 'literal-too-big'},
      cmd('A3 NOOP'),
      {type: 'refused', tag: 'A4', reason: 'literal-too-big', fatal: true},
    ]
    for (let i = 0; i <= data.length; i++) expect(feed(data, [i], limits), `cut at ${i}`).toEqual(want)
    expect(feed(data, Array.from({length: data.length}, (_, i) => i), limits)).toEqual(want)
  })
})

describe('Framing: line length limit', () => {
  it('refuses a too long line with its tag, and parses the next command', () => {
    const {events, push} = setup({maxLineLength: 100})
    push(`A1 LOGIN ${'x'.repeat(200)} y\r\nA2 NOOP\r\n`)
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'line-too-long'}, cmd('A2 NOOP')])
  })

  it('a too long line arriving in pieces is skipped without being buffered, then refused at its end', () => {
    const {events, push} = setup({maxLineLength: 100})
    push('A7 SEARCH TEXT ')
    for (let i = 0; i < 100; i++) push('z'.repeat(1000))
    expect(events).toEqual([])
    push('\r\nA8 NOOP\r\n')
    expect(events).toEqual([{type: 'refused', tag: 'A7', reason: 'line-too-long'}, cmd('A8 NOOP')])
  })

  it('a line of exactly the limit (without CRLF) is accepted', () => {
    const {events, push} = setup({maxLineLength: 20})
    const line = 'A1 X ' + 'a'.repeat(15)
    expect(line).toHaveLength(20)
    push(line + '\n')
    expect(events).toEqual([cmd(line)])
  })

  it('a too long line without a usable tag is refused with "*"', () => {
    const {events, push} = setup({maxLineLength: 10})
    push(`${'x'.repeat(50)}\r\nA2 NOOP\r\n`)
    expect(events).toEqual([{type: 'refused', tag: '*', reason: 'line-too-long'}, cmd('A2 NOOP')])
  })

  it('a too long continuation line after a literal is refused with the command tag', () => {
    const {events, push} = setup({maxLineLength: 40})
    push(`A5 APPEND INBOX {3+}\r\nabc ${'f'.repeat(100)}\r\nA6 NOOP\r\n`)
    expect(events).toEqual([{type: 'refused', tag: 'A5', reason: 'line-too-long'}, cmd('A6 NOOP')])
  })

  it('a too long line ending in a LITERAL+ marker: the literal bytes are skipped, not run as commands', () => {
    const {events, push} = setup({maxLineLength: 100})
    const literal = 'B1 DELETE Archive\r\n'
    push(`A1 APPEND INBOX "${'x'.repeat(200)}" {${literal.length}+}\r\n${literal}\r\nC1 NOOP\r\n`)
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'line-too-long'}, cmd('C1 NOOP')])
  })
})

describe('Framing: literal size limit', () => {
  it('the literals of one command together (MULTIAPPEND) have their own limit; each one stays under the literal limit', () => {
    const {events, push} = setup({maxLiteralSize: 10, maxAppendSize: 15})
    push('A1 APPEND INBOX {10+}\r\n0123456789 {5+}\r\n01234\r\n')
    expect(events).toEqual([cmd('A1 APPEND INBOX ', b('0123456789'), ' ', b('01234'), '')])
    push('A2 APPEND INBOX {10}\r\n')
    push('0123456789 {6}\r\n')
    expect(events.slice(1)).toEqual([{type: 'continue', size: 10}, {type: 'refused', tag: 'A2', reason: 'command-too-big'}])
    push('A3 APPEND INBOX ~{11+}\r\n')
    expect(events.at(-1)).toEqual({type: 'refused', tag: 'A3', reason: 'literal-too-big', fatal: true})
  })

  it('a literal8 is framed as a literal, its "~" left at the end of the text before it', () => {
    const {events, push} = setup()
    push('A1 APPEND INBOX ~{3+}\r\na\0b\r\n')
    expect(events).toEqual([cmd('A1 APPEND INBOX ~', b('a\0b'), '')])
  })

  it('a literal of exactly the limit is accepted', () => {
    const {events, push} = setup({maxLiteralSize: 10})
    push('A1 APPEND INBOX {10+}\r\n0123456789\r\n')
    expect(events).toEqual([cmd('A1 APPEND INBOX ', b('0123456789'), '')])
  })

  it('a synchronizing literal over the limit is refused at once, without a continuation request', () => {
    const {events, push} = setup({maxLiteralSize: 10})
    push('A1 APPEND INBOX {11}\r\n')
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'literal-too-big'}])
    // the client sends nothing of the literal; its next command is read normally
    push('A2 NOOP\r\n')
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'literal-too-big'}, cmd('A2 NOOP')])
  })

  it('a synchronizing literal over the limit later in a command drops the command at once', () => {
    const {events, push} = setup({maxLiteralSize: 10})
    push('A1 LOGIN {3}\r\nbob {99999999999}\r\n')
    expect(events).toEqual([{type: 'continue', size: 3}, {type: 'refused', tag: 'A1', reason: 'literal-too-big'}])
    push('A2 NOOP\r\n')
    expect(events.at(-1)).toEqual(cmd('A2 NOOP'))
  })

  it('a LITERAL+ literal over the limit is refused at once, and nothing after it is read (its bytes are on their way)', () => {
    const {events, framing, push} = setup({maxLiteralSize: 10})
    push('A1 APPEND INBOX {20+}\r\n')
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'literal-too-big', fatal: true}])
    push('0123456789A2 NOOP\r\n')
    framing.reset()
    push('A3 NOOP\r\n')
    expect(events).toHaveLength(1)
  })

  it('the rest of a too long command is followed through its further LITERAL+ literals', () => {
    const {events, push} = setup({maxLineLength: 30, maxLiteralSize: 10})
    push(`A1 APPEND INBOX "${'x'.repeat(40)}" {5+}\r\nabcde {6+}\r\nB1 X\r\n\r\nA2 NOOP\r\n`)
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'line-too-long'}, cmd('A2 NOOP')])
  })

  it('a LITERAL+ literal over the limit in a command already being dropped ends the input', () => {
    const {events, push} = setup({maxLineLength: 30, maxLiteralSize: 10})
    push(`A1 APPEND INBOX "${'x'.repeat(40)}" {11+}\r\n` + 'B1 NOOP\r\nxx\r\nA2 NOOP\r\n')
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'line-too-long', fatal: true}])
  })

  it('a synchronizing literal at the end of a too long line ends the command at once (the client waits for "+")', () => {
    const {events, push} = setup({maxLineLength: 30})
    push(`A1 APPEND INBOX "${'x'.repeat(40)}" {5}\r\n`)
    // no continuation will come, so the client will not send the 5 bytes: answer now
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'line-too-long'}])
    push('A2 NOOP\r\n')
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'line-too-long'}, cmd('A2 NOOP')])
  })

  it('many LITERAL+ literals adding up beyond the command budget end the input', () => {
    const {events, push} = setup({maxLineLength: 20, maxLiteralSize: 1000})
    let data = 'A1 X'
    for (let i = 0; i < 20; i++) data += ` {1+}\r\n${i % 10}`
    push(data + '\r\nA2 NOOP\r\n')
    expect(events.filter((e) => e.type === 'command')).toEqual([])
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'command-too-big', fatal: true}])
  })

  it('the bytes of a refused 50 MB LITERAL+ literal are neither buffered nor read', () => {
    const {events, push} = setup({maxLiteralSize: 1024 * 1024})
    push(`A1 APPEND INBOX {${50 * 1024 * 1024}+}\r\n`)
    for (let i = 0; i < 100; i++) push(Buffer.alloc(64 * 1024, 0x61))
    push('\r\nA2 NOOP\r\n')
    expect(events).toEqual([{type: 'refused', tag: 'A1', reason: 'literal-too-big', fatal: true}])
  })
})

describe('Framing: raw lines and reset', () => {
  it('rawLines hands over whole lines, literal markers included', () => {
    const {events, framing, push} = setup()
    framing.rawLines = true
    push('DONE\r\ndGVzdA== {5}\r\n\r\n')
    expect(events).toEqual([
      {type: 'line', text: 'DONE'},
      {type: 'line', text: 'dGVzdA== {5}'},
      {type: 'line', text: ''},
    ])
    framing.rawLines = false
    push('A1 NOOP\r\n')
    expect(events.at(-1)).toEqual(cmd('A1 NOOP'))
  })

  it('rawLines switched on while a command is assembled does not cut the command', () => {
    const {events, framing, push} = setup()
    push('A1 LOGIN {3}\r\n')
    framing.rawLines = true
    push('bob pw\r\nDONE\r\n')
    expect(events).toEqual([{type: 'continue', size: 3}, cmd('A1 LOGIN ', b('bob'), ' pw'), {type: 'line', text: 'DONE'}])
  })

  it('reset() drops a partial line', () => {
    const {events, framing, push} = setup()
    push('A1 DELETE INB')
    framing.reset()
    push('A2 NOOP\r\n')
    expect(events).toEqual([cmd('A2 NOOP')])
  })

  it('reset() drops only what is still buffered: commands already handed over stay', () => {
    const {events, framing, push} = setup()
    push('A1 STARTTLS\r\nA2 LOGIN bob')
    expect(events).toEqual([cmd('A1 STARTTLS')])
    framing.reset()
    push(' pw\r\nA3 NOOP\r\n')
    expect(events).toEqual([cmd('A1 STARTTLS'), cmd(' pw'), cmd('A3 NOOP')])
  })

  it('reset() drops a command waiting for literal bytes', () => {
    const {events, framing, push} = setup()
    push('A1 LOGIN {10}\r\nabc')
    framing.reset()
    push('A2 NOOP\r\n')
    expect(events).toEqual([{type: 'continue', size: 10}, cmd('A2 NOOP')])
  })

  it('reset() forgets a command being dropped', () => {
    const {events, framing, push} = setup({maxLiteralSize: 5, maxLineLength: 30})
    push(`A1 X "${'x'.repeat(40)}" {4+}\r\nxx`)
    framing.reset()
    push('A2 NOOP\r\n')
    expect(events).toEqual([cmd('A2 NOOP')])
    push('A3 LOGIN ' + 'x'.repeat(50))
    framing.reset()
    push('A4 NOOP\r\n')
    expect(events).toEqual([cmd('A2 NOOP'), cmd('A4 NOOP')])
  })
})
