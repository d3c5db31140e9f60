/**
 * ManageSieve commands from the framing's pieces to {name, args} (src/managesieve/parser.ts),
 * responses as they go on the wire (src/managesieve/wire.ts), and IMAP's framing with every
 * literal's bytes following its line (ManageSieve's `{n+}` and `{n}` alike).
 */
import {describe, expect, it} from 'vitest'
import {Framing} from '../../src/imap/framing.js'
import {seeded} from '../helpers/random.js'
import {CommandSyntaxError, MAX_QUOTED_BYTES, parseArgs, parseCommand, stringArg} from '../../src/managesieve/parser.js'
import {capabilityLines, response, sieveLiteral, sieveString} from '../../src/managesieve/wire.js'

/** what the framing hands over for one command (literals as bytes) */
function frame(input: string | Buffer, limits = {maxLineLength: 2000, maxLiteralSize: 100}) {
  const out: ({parts: (string | Buffer)[]} | {refused: string; fatal: boolean})[] = []
  const framing = new Framing(
    limits,
    {
      command: (parts) => out.push({parts}),
      line: () => {},
      continueLiteral: () => {
        throw new Error('no continuation in ManageSieve')
      },
      refused: (_tag, reason, fatal) => out.push({refused: reason, fatal}),
    },
    {literalsFollow: true},
  )
  framing.push(Buffer.isBuffer(input) ? input : Buffer.from(input))
  return out
}

const parse = (input: string | Buffer) => {
  const [first] = frame(input)
  if (!first || !('parts' in first)) throw new Error(`not framed: ${JSON.stringify(first)}`)
  return parseCommand(first.parts)
}
const texts = (input: string | Buffer) => parse(input).args.map((a) => (a.kind === 'number' ? a.value : stringArg(a)))
const syntaxError = (input: string) => {
  try {
    parse(input)
  } catch (err) {
    expect(err).toBeInstanceOf(CommandSyntaxError)
    return (err as Error).message
  }
  throw new Error(`accepted: ${input}`)
}

describe('ManageSieve command parser', () => {
  it('names are case-insensitive atoms; no arguments, quoted strings and numbers', () => {
    expect(parse('capability\r\n')).toEqual({name: 'CAPABILITY', args: []})
    expect(parse('Logout\r\n').name).toBe('LOGOUT')
    expect(texts('HAVESPACE "my script" 1234\r\n')).toEqual(['my script', 1234])
    expect(texts('RENAMESCRIPT "a" "b"\r\n')).toEqual(['a', 'b'])
    expect(texts('SETACTIVE ""\r\n')).toEqual([''])
  })

  it('quoted strings: \\" and \\\\ escapes, UTF-8, at most 1024 bytes', () => {
    expect(texts('PUTSCRIPT "say \\"hi\\" \\\\ o/" "keep;"\r\n')).toEqual(['say "hi" \\ o/', 'keep;'])
    expect(texts('GETSCRIPT "Früh – 日本"\r\n')).toEqual(['Früh – 日本'])
    expect(texts(`GETSCRIPT "${'é'.repeat(MAX_QUOTED_BYTES / 2)}"\r\n`)).toHaveLength(1)
    expect(syntaxError(`GETSCRIPT "${'é'.repeat(MAX_QUOTED_BYTES / 2)}x"\r\n`)).toMatch(/longer than 1024 bytes/)
    expect(syntaxError('GETSCRIPT "a\\nb"\r\n')).toMatch(/may be escaped/)
    expect(syntaxError('GETSCRIPT "open\r\n')).toMatch(/unterminated/)
  })

  it('literals {n+} and {n}: bytes as sent, CRLF inside, several in one command', () => {
    const script = 'require "fileinto";\r\nif header :contains "subject" "x" {\r\n  fileinto "X";\r\n}\r\n'
    const n = Buffer.byteLength(script)
    expect(texts(`PUTSCRIPT "a" {${n}+}\r\n${script}\r\n`)).toEqual(['a', script])
    expect(texts(`PUTSCRIPT "a" {${n}}\r\n${script}\r\n`)).toEqual(['a', script])
    expect(texts('PUTSCRIPT {1+}\r\na {5+}\r\nkeep;\r\n')).toEqual(['a', 'keep;'])
    expect(texts('CHECKSCRIPT {0+}\r\n\r\n')).toEqual([''])
  })

  it('a literal with invalid UTF-8 is a syntax error when its text is asked for, a quoted one at once', () => {
    const bad = Buffer.concat([Buffer.from('CHECKSCRIPT {4+}\r\n'), Buffer.from([0x6b, 0xff, 0xfe, 0x3b]), Buffer.from('\r\n')])
    const {args} = parse(bad)
    expect(() => stringArg(args[0]!)).toThrow(/not valid UTF-8/)
    const quoted = Buffer.concat([Buffer.from('GETSCRIPT "a'), Buffer.from([0xc3]), Buffer.from('"\r\n')])
    expect(() => parse(quoted)).toThrow(/not valid UTF-8/)
  })

  it('malformed commands: each a CommandSyntaxError with a message for the client', () => {
    expect(syntaxError('\r\n')).toBe('empty command')
    expect(syntaxError('PUT-SCRIPT "a"\r\n')).toBe('invalid command name')
    expect(syntaxError('GETSCRIPT foo\r\n')).toMatch(/unexpected "f"/)
    expect(syntaxError('GETSCRIPT  "a"\r\n')).toMatch(/unexpected " "/)
    expect(syntaxError('RENAMESCRIPT "a""b"\r\n')).toMatch(/expected a space/)
    expect(syntaxError('PUTSCRIPT "a"{1+}\r\nx\r\n')).toMatch(/space before a literal/)
    expect(syntaxError('PUTSCRIPT {1+}\r\nx"b"\r\n')).toMatch(/expected a space/)
    expect(syntaxError('HAVESPACE "a" 4294967296\r\n')).toMatch(/number too large/)
    expect(texts('HAVESPACE "a" 4294967295\r\n')).toEqual(['a', 4294967295])
  })

  it('a SASL response is a string alone on its line: quoted or a literal', () => {
    expect(parseArgs(['"AGFsaWNlAHB3"'], false).map(stringArg)).toEqual(['AGFsaWNlAHB3'])
    expect(parseArgs(['', Buffer.from('AGFsaWNlAHB3'), ''], false).map(stringArg)).toEqual(['AGFsaWNlAHB3'])
    expect(parseArgs(['"*"'], false).map(stringArg)).toEqual(['*'])
    expect(() => parseArgs(['AGFs'], false)).toThrow(CommandSyntaxError)
  })
})

describe('ManageSieve parser on random input', () => {
  it('framed random bytes either parse or throw CommandSyntaxError, never anything else', () => {
    const random = seeded(5804)
    const alphabet = ['"', '\\', '{', '}', '+', ' ', '0', '7', '12', 'a', 'PUTSCRIPT', 'NOOP', '\r\n', '\n', '\xff', 'é', '(', '*']
    let parsed = 0
    let refused = 0
    for (let round = 0; round < 500; round++) {
      const input = Array.from({length: 1 + Math.floor(random() * 30)}, () => alphabet[Math.floor(random() * alphabet.length)]).join('') + '\r\n'
      for (const framed of frame(Buffer.from(input, 'latin1'))) {
        if (!('parts' in framed)) continue
        try {
          for (const arg of parseCommand(framed.parts).args) if (arg.kind === 'string') stringArg(arg)
          parsed++
        } catch (err) {
          expect(err, input).toBeInstanceOf(CommandSyntaxError)
          refused++
        }
      }
    }
    expect(parsed).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  })
})

describe('ManageSieve framing limits', () => {
  it('a line over the limit is refused as it arrives; the next command is framed', () => {
    const out = frame(`NOOP "${'x'.repeat(3000)}"\r\nNOOP\r\n`)
    expect(out).toEqual([{refused: 'line-too-long', fatal: false}, {parts: ['NOOP']}])
  })

  it('a literal over the limit is never read: {n+} and {n} both end the input (the bytes are on their way)', () => {
    for (const marker of ['{101+}', '{101}']) {
      const out = frame(`PUTSCRIPT "a" ${marker}\r\n${'x'.repeat(101)}\r\nNOOP\r\n`)
      expect(out).toEqual([{refused: 'literal-too-big', fatal: true}])
    }
  })
})

describe('ManageSieve responses', () => {
  it('OK/NO/BYE with a response code and a quoted text', () => {
    expect(response('OK')).toBe('OK\r\n')
    expect(response('NO', 'there is no script by that name', 'NONEXISTENT')).toBe('NO (NONEXISTENT) "there is no script by that name"\r\n')
    expect(response('NO', 'big', 'QUOTA/MAXSIZE')).toBe('NO (QUOTA/MAXSIZE) "big"\r\n')
    expect(response('BYE', 'too many connections, try again later', 'TRYLATER')).toBe('BYE (TRYLATER) "too many connections, try again later"\r\n')
    expect(response('OK', 'done', {tag: 'STARTTLS-SYNC-42'})).toBe('OK (TAG "STARTTLS-SYNC-42") "done"\r\n')
  })

  it('a text with CRLF (syntax errors, one per line) or over 1024 bytes goes as a literal', () => {
    const errors = 'line 1: unknown command "frob"\r\nline 3: missing ";"'
    expect(response('NO', errors)).toBe(`NO {${Buffer.byteLength(errors)}}\r\n${errors}\r\n`)
    expect(sieveString('x'.repeat(1025))).toBe(`{1025}\r\n${'x'.repeat(1025)}`)
    expect(sieveString('a "b" \\')).toBe('"a \\"b\\" \\\\"')
    expect(sieveLiteral('keep;')).toBe('{5}\r\nkeep;')
    expect(sieveLiteral('é')).toBe('{2}\r\né')
  })

  it('capability lines: name alone or name and value, each quoted', () => {
    expect(capabilityLines([['IMPLEMENTATION', 'mailbox 1.0'], ['STARTTLS'], ['SASL', '']])).toBe('"IMPLEMENTATION" "mailbox 1.0"\r\n"STARTTLS"\r\n"SASL" ""\r\n')
  })
})
