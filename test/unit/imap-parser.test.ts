import {describe, expect, it} from 'vitest'
import {parseFetchItems} from '../../src/imap/commands/fetch.js'
import {listPattern} from '../../src/imap/pattern.js'
import {parseCommand, ParseError, tagOf, type Node} from '../../src/imap/parser.js'

/** one command line without literals */
const parse = (line: string) => parseCommand([line])
const atom = (value: string): Node => ({type: 'atom', value})
const quoted = (value: string): Node => ({type: 'string', value})
const list = (...items: Node[]): Node => ({type: 'list', items})

function parseError(parts: (string | Buffer)[] | string): ParseError {
  try {
    parseCommand(typeof parts === 'string' ? [parts] : parts)
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError)
    return err as ParseError
  }
  throw new Error(`expected a ParseError for ${JSON.stringify(parts)}`)
}

describe('parseCommand: tag and command name', () => {
  it('splits off the tag and upper-cases the command name', () => {
    expect(parse('a001 login')).toEqual({tag: 'a001', name: 'LOGIN', args: []})
    expect(parse('A1 NOOP')).toEqual({tag: 'A1', name: 'NOOP', args: []})
    expect(parse('x.y-z_9 Capability')).toEqual({tag: 'x.y-z_9', name: 'CAPABILITY', args: []})
  })

  it('accepts command names with dots and dashes (UID, X-extensions)', () => {
    expect(parse('t X-FOO.BAR 1').name).toBe('X-FOO.BAR')
    expect(parse('t uid fetch 1:* FLAGS')).toEqual({tag: 't', name: 'UID', args: [atom('fetch'), atom('1:*'), atom('FLAGS')]})
  })

  it('a tag may hold characters that are not atom-specials ([, }, $, #, ...)', () => {
    expect(parse('[a}$# NOOP').tag).toBe('[a}$#')
  })

  it('refuses a missing tag', () => {
    expect(parseError('').message).toMatch(/missing tag/)
    expect(parseError(' NOOP').message).toMatch(/missing tag/)
    expect(parseError('(a NOOP').message).toMatch(/missing tag/)
    expect(parseError('+ NOOP').message).toMatch(/missing tag/)
    expect(parseError('* NOOP').message).toMatch(/missing tag/)
    expect(parseError('"a" NOOP').message).toMatch(/missing tag/)
    expect(parseError([Buffer.from('A1'), ' NOOP']).message).toMatch(/missing tag/)
  })

  it('refuses a missing or malformed command name', () => {
    for (const line of ['A1', 'A1 ', 'A1  NOOP', 'A1 1NOOP', 'A1 (NOOP)', 'A1 NO+OP', 'A1+ NOOP', 'A1\tNOOP']) {
      expect(parseError(line).message, line).toMatch(/missing command/)
    }
  })

  it('a command name directly followed by something else than a space is refused', () => {
    parseError('A1 NOOP"x"')
    parseError(['A1 LOGIN', Buffer.from('bob'), ' x'])
  })

  it('tolerates one trailing space after the command name and after the last argument', () => {
    expect(parse('A1 NOOP ')).toEqual({tag: 'A1', name: 'NOOP', args: []})
    expect(parse('A1 FETCH 1 FLAGS ')).toEqual({tag: 'A1', name: 'FETCH', args: [atom('1'), atom('FLAGS')]})
    expect(parse('A1 FETCH 1 (FLAGS UID )').args).toEqual([atom('1'), list(atom('FLAGS'), atom('UID'))])
  })

  it('refuses two spaces between arguments and a space-only argument list', () => {
    parseError('A1 FETCH 1  FLAGS')
    parseError('A1 NOOP  ')
    parseError('A1 FETCH ( FLAGS)')
  })
})

describe('parseCommand: atoms and quoted strings', () => {
  it('parses atoms, flags and sequence sets as atoms', () => {
    expect(parse('A1 STORE 1:3,5,*:9 +FLAGS.SILENT \\Seen $Label1 \\*').args).toEqual([
      atom('1:3,5,*:9'),
      atom('+FLAGS.SILENT'),
      atom('\\Seen'),
      atom('$Label1'),
      atom('\\*'),
    ])
  })

  it('NIL is an atom like any other (its meaning is up to the command)', () => {
    expect(parse('A1 X NIL nil (NIL)').args).toEqual([atom('NIL'), atom('nil'), list(atom('NIL'))])
  })

  it('keeps LIST wildcards and brackets inside an ordinary atom', () => {
    expect(parse('A1 LIST "" %/*').args).toEqual([quoted(''), atom('%/*')])
    expect(parse('A1 LIST "" foo[bar]baz').args).toEqual([quoted(''), atom('foo[bar]baz')])
    expect(parse('A1 LIST "" ([x] y)').args).toEqual([quoted(''), list(atom('[x]'), atom('y'))])
  })

  it('parses quoted strings, empty ones included', () => {
    expect(parse('A1 LOGIN "bob@example.com" ""').args).toEqual([quoted('bob@example.com'), quoted('')])
    expect(parse('A1 SELECT "a (b) {3} [c] % * ) ("').args).toEqual([quoted('a (b) {3} [c] % * ) (')])
  })

  it('unescapes \\\\ and \\" inside quoted strings', () => {
    expect(parse('A1 LOGIN "a\\"b" "c\\\\d"').args).toEqual([quoted('a"b'), quoted('c\\d')])
    expect(parse('A1 X "\\\\"').args).toEqual([quoted('\\')])
    expect(parse('A1 X "\\""').args).toEqual([quoted('"')])
    expect(parse('A1 X "\\\\\\""').args).toEqual([quoted('\\"')])
  })

  it('keeps UTF-8 text inside quoted strings', () => {
    expect(parse('A1 SELECT "Grüße 😀"').args).toEqual([quoted('Grüße 😀')])
  })

  it('refuses an unterminated quoted string', () => {
    expect(parseError('A1 LOGIN "bob').message).toMatch(/end/)
    parseError('A1 LOGIN "bob\\"')
    parseError('A1 LOGIN "bob\\')
    // a quoted string cannot continue into a literal
    parseError(['A1 LOGIN "bob', Buffer.from('x'), '"'])
  })

  it('refuses escapes other than \\\\ and \\"', () => {
    for (const line of ['A1 X "a\\nb"', 'A1 X "\\a"', 'A1 X "\\ "', 'A1 X "\\0"']) {
      expect(parseError(line).message, line).toMatch(/escape/)
    }
  })

  it('refuses a line break inside a quoted string', () => {
    parseError('A1 X "a\rb"')
    parseError('A1 X "a\nb"')
  })

  it('refuses NUL inside a quoted string (RFC 3501 CHAR is %x01-7F)', () => {
    parseError('A1 LOGIN "a\u0000b" c')
  })

  it('refuses text stuck to the end of a quoted string, a list or a section', () => {
    for (const line of ['A1 X "a"b', 'A1 X "a""b"', 'A1 X (a)b', 'A1 X (a)(b)', 'A1 FETCH 1 BODY[]x', 'A1 FETCH 1 BODY[]<0.1>x', 'A1 X a"b"']) {
      expect(parseError(line).message, line).toMatch(/space/)
    }
  })

  it('refuses control characters outside quoted strings', () => {
    for (const line of ['A1 X a\u0001b', 'A1 X \u0001', 'A1 X a\u007f', 'A1 X (a\u0000)', 'A1 X\u0007', 'A1\u0000 NOOP', 'A1 X a\tb', 'A1 FETCH 1 BODY[\u0001]']) {
      parseError(line)
    }
  })

  it('refuses stray closing brackets', () => {
    parseError('A1 X )')
    parseError('A1 X a)')
    parseError('A1 X (a))')
  })
})

describe('parseCommand: literals (as Buffer parts from the framing layer)', () => {
  it('a literal becomes a string with its bytes', () => {
    const cmd = parseCommand(['A1 LOGIN ', Buffer.from('bob'), ' ', Buffer.from('s3cret'), ''])
    expect(cmd).toEqual({
      tag: 'A1',
      name: 'LOGIN',
      args: [
        {type: 'string', value: 'bob', bytes: Buffer.from('bob')},
        {type: 'string', value: 's3cret', bytes: Buffer.from('s3cret')},
      ],
    })
  })

  it('a literal8 (`~{n}`: the framing leaves the "~" before the bytes) is a binary string; a "~" elsewhere stays an atom', () => {
    const bytes = Buffer.from([0x41, 0x00, 0x42])
    expect(parseCommand(['A1 APPEND INBOX ~', bytes, '']).args).toEqual([
      {type: 'atom', value: 'INBOX'},
      {type: 'string', value: bytes.toString('utf8'), bytes, binary: true},
    ])
    expect(parseCommand(['A1 X ~a ~']).args).toEqual([
      {type: 'atom', value: '~a'},
      {type: 'atom', value: '~'},
    ])
  })

  it('an empty literal is an empty string', () => {
    const cmd = parseCommand(['A1 LOGIN ', Buffer.alloc(0), ' ', Buffer.alloc(0), ''])
    expect(cmd.args).toEqual([
      {type: 'string', value: '', bytes: Buffer.alloc(0)},
      {type: 'string', value: '', bytes: Buffer.alloc(0)},
    ])
  })

  it('a literal keeps CRLF, NUL, quotes and 8-bit bytes exactly', () => {
    const bytes = Buffer.from([0x46, 0x72, 0x6f, 0x6d, 0x3a, 0x0d, 0x0a, 0x22, 0x5c, 0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x7b, 0x33, 0x7d])
    const cmd = parseCommand(['A1 APPEND INBOX (\\Seen) ', bytes, ''])
    expect(cmd.args).toHaveLength(3)
    const lit = cmd.args[2]!
    expect(lit.type).toBe('string')
    expect(lit.type === 'string' && lit.bytes).toEqual(bytes)
    expect(lit.type === 'string' && Buffer.compare(lit.bytes!, bytes)).toBe(0)
  })

  it('a literal may be the last part (nothing after it)', () => {
    expect(parseCommand(['A1 X ', Buffer.from('ab')]).args).toEqual([{type: 'string', value: 'ab', bytes: Buffer.from('ab')}])
  })

  it('literals inside lists and next to other arguments', () => {
    const cmd = parseCommand(['A1 X (a ', Buffer.from('b c'), ' ', Buffer.from(')'), ') d'])
    expect(cmd.args).toEqual([list(atom('a'), {type: 'string', value: 'b c', bytes: Buffer.from('b c')}, {type: 'string', value: ')', bytes: Buffer.from(')')}), atom('d')])
  })

  it('a literal stuck to the preceding argument is refused', () => {
    parseError(['A1 X a', Buffer.from('b'), ''])
    parseError(['A1 X ', Buffer.from('b'), 'c'])
  })
})

describe('parseCommand: lists', () => {
  it('parses nested lists', () => {
    expect(parse('A1 X (a (b (c "d") ()) e) ()').args).toEqual([list(atom('a'), list(atom('b'), list(atom('c'), quoted('d')), list()), atom('e')), list()])
  })

  it('deep nesting', () => {
    const depth = 50
    const cmd = parse(`A1 X ${'('.repeat(depth)}x${')'.repeat(depth)}`)
    let node = cmd.args[0]!
    for (let i = 0; i < depth; i++) {
      expect(node.type).toBe('list')
      node = (node as {items: Node[]}).items[0]!
    }
    expect(node).toEqual(atom('x'))
  })

  it('refuses unbalanced parentheses', () => {
    expect(parseError('A1 X (a').message).toMatch(/missing "\)"/)
    expect(parseError('A1 X ((a)').message).toMatch(/missing "\)"/)
    parseError('A1 X (a))')
    parseError('A1 X a)')
    parseError(['A1 X (', Buffer.from('a'), ''])
  })
})

describe('parseCommand: fetch sections', () => {
  const fetchItems = (line: string) => parse(line).args[1]

  it('BODY[] is a section with no specifier', () => {
    expect(fetchItems('A1 FETCH 1 BODY[]')).toEqual({type: 'section', name: 'BODY', section: []})
  })

  it('BODY.PEEK[HEADER.FIELDS (FROM "To")]<0.100>', () => {
    expect(fetchItems('A1 FETCH 1 BODY.PEEK[HEADER.FIELDS (FROM "To")]<0.100>')).toEqual({
      type: 'section',
      name: 'BODY.PEEK',
      section: [atom('HEADER.FIELDS'), list(atom('FROM'), quoted('To'))],
      partial: [0, 100],
    })
  })

  it('BODY[1.2.MIME]', () => {
    expect(fetchItems('A1 FETCH 1 BODY[1.2.MIME]')).toEqual({type: 'section', name: 'BODY', section: [atom('1.2.MIME')]})
  })

  it('section names are case-insensitive and come back upper-cased', () => {
    expect(fetchItems('A1 FETCH 1 body.peek[text]')).toEqual({type: 'section', name: 'BODY.PEEK', section: [atom('text')]})
    expect(fetchItems('A1 FETCH 1 Binary.Peek[1]')).toEqual({type: 'section', name: 'BINARY.PEEK', section: [atom('1')]})
  })

  it('a partial without a length runs to the end', () => {
    expect(fetchItems('A1 FETCH 1 BODY[TEXT]<5>')).toEqual({type: 'section', name: 'BODY', section: [atom('TEXT')], partial: [5, Infinity]})
  })

  it('sections inside a fetch list, next to plain items', () => {
    expect(fetchItems('A1 FETCH 1:* (UID BODY.PEEK[HEADER] BODY[2]<10.20> FLAGS)')).toEqual(
      list(atom('UID'), {type: 'section', name: 'BODY.PEEK', section: [atom('HEADER')]}, {type: 'section', name: 'BODY', section: [atom('2')], partial: [10, 20]}, atom('FLAGS')),
    )
  })

  it('BODY without a bracket is a plain atom; an unknown name with a bracket stays an atom', () => {
    expect(fetchItems('A1 FETCH 1 (BODY BODYSTRUCTURE)')).toEqual(list(atom('BODY'), atom('BODYSTRUCTURE')))
    expect(fetchItems('A1 FETCH 1 RFC822[1]')).toEqual(atom('RFC822[1]'))
  })

  it('refuses a bad partial', () => {
    for (const line of ['A1 FETCH 1 BODY[]<x>', 'A1 FETCH 1 BODY[]<>', 'A1 FETCH 1 BODY[]<1.>', 'A1 FETCH 1 BODY[]<.1>', 'A1 FETCH 1 BODY[]<1.2.3>', 'A1 FETCH 1 BODY[]<-1>', 'A1 FETCH 1 BODY[]<1 2>']) {
      expect(parseError(line).message, line).toMatch(/partial/)
    }
    parseError('A1 FETCH 1 BODY[]<1')
    parseError('A1 FETCH 1 BODY[]<1.2')
  })

  it('refuses an unterminated section', () => {
    expect(parseError('A1 FETCH 1 BODY[TEXT').message).toMatch(/missing "\]"/)
    parseError('A1 FETCH 1 BODY[HEADER.FIELDS (FROM]')
    parseError('A1 FETCH 1 (BODY[TEXT)')
  })
})

describe('tagOf', () => {
  it.each([
    ['A1 NOOP', 'A1'],
    ['A1', 'A1'],
    ['a.b FETCH (', 'a.b'],
    ['A1 "unterminated', 'A1'],
    ['', '*'],
    [' NOOP', '*'],
    ['(A1 NOOP', '*'],
    ['A+1 NOOP', '*'],
    ['A"1 NOOP', '*'],
    ['A*1 NOOP', '*'],
    ['A1\tNOOP', '*'],
    ['A1(x', '*'],
  ])('%j → %j', (line, tag) => {
    expect(tagOf(line)).toBe(tag)
  })
})

describe('parseFetchItems', () => {
  const items = (text: string) => parseFetchItems(parse(`A1 FETCH 1 ${text}`).args[1]!)

  it('expands the macros ALL, FAST and FULL (any case)', () => {
    expect(items('ALL').map((i) => i.kind)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'])
    expect(items('fast').map((i) => i.kind)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'])
    expect(items('Full').map((i) => i.kind)).toEqual(['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'])
  })

  it('a macro is not allowed inside a list', () => {
    expect(() => items('(ALL)')).toThrow(ParseError)
  })

  it('simple items, alone or in a list', () => {
    expect(items('uid')).toEqual([{kind: 'UID'}])
    expect(items('(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)').map((i) => i.kind)).toEqual([
      'UID',
      'FLAGS',
      'INTERNALDATE',
      'RFC822.SIZE',
      'ENVELOPE',
      'BODYSTRUCTURE',
      'BODY',
    ])
  })

  it('body sections: peek or not, with the parsed section and the partial range', () => {
    expect(items('BODY.PEEK[HEADER.FIELDS (From to)]<0.100>')).toEqual([
      {kind: 'section', name: 'BODY', peek: true, section: {path: [], specifier: 'HEADER.FIELDS', fields: ['From', 'to'], label: 'HEADER.FIELDS (FROM TO)'}, partial: [0, 100]},
    ])
    expect(items('BODY[1.2.MIME]')).toEqual([{kind: 'section', name: 'BODY', peek: false, section: {path: [1, 2], specifier: 'MIME', label: '1.2.MIME'}}])
  })

  it('RFC822, RFC822.HEADER and RFC822.TEXT are sections under their own names (RFC822.HEADER does not set \\Seen)', () => {
    expect(items('(RFC822 RFC822.HEADER RFC822.TEXT)')).toEqual([
      {kind: 'section', name: 'RFC822', peek: false, section: {path: [], specifier: '', label: ''}},
      {kind: 'section', name: 'RFC822.HEADER', peek: true, section: {path: [], specifier: 'HEADER', label: ''}},
      {kind: 'section', name: 'RFC822.TEXT', peek: false, section: {path: [], specifier: 'TEXT', label: ''}},
    ])
  })

  it('BINARY, BINARY.PEEK and BINARY.SIZE take part numbers only (RFC 3516 section-binary)', () => {
    expect(items('(BINARY[1.2]<0.10> BINARY.PEEK[] BINARY.SIZE[3])')).toEqual([
      {kind: 'section', name: 'BINARY', peek: false, section: {path: [1, 2], specifier: '', label: '1.2'}, binary: 'content', partial: [0, 10]},
      {kind: 'section', name: 'BINARY', peek: true, section: {path: [], specifier: '', label: ''}, binary: 'content'},
      {kind: 'section', name: 'BINARY.SIZE', peek: true, section: {path: [3], specifier: '', label: '3'}, binary: 'size'},
    ])
  })

  it('refuses unknown items, bad BINARY sections, strings, bad sections and an empty list', () => {
    for (const text of ['FOO', '(UID FOO)', 'BINARY[1.TEXT]', 'BINARY[0]', 'BINARY.SIZE[1]<0.2>', 'BINARY[1 2]', '"UID"', '()', 'BODY[0]', 'BODY[MIME]', 'BODY[HEADER.FIELDS]', 'BODY[TEXT.1]', '(UID (FLAGS))']) {
      expect(() => items(text), text).toThrow(ParseError)
    }
  })
})

describe('listPattern (LIST patterns)', () => {
  const matches = (pattern: string, names: string[]) => names.filter((n) => listPattern(pattern)(n))
  const folders = ['INBOX', 'INBOX/a', 'INBOX/a/b', 'Sent', 'Work', 'Work/2024', 'Work/2024/Q1', 'Workshop', 'a.b', 'axb', '😀 Fun', '😀 Fun/x']

  it('* matches everything, % stops at the separator', () => {
    expect(matches('*', folders)).toEqual(folders)
    expect(matches('%', folders)).toEqual(['INBOX', 'Sent', 'Work', 'Workshop', 'a.b', 'axb', '😀 Fun'])
    expect(matches('Work/%', folders)).toEqual(['Work/2024'])
    expect(matches('Work/*', folders)).toEqual(['Work/2024', 'Work/2024/Q1'])
    expect(matches('Work*', folders)).toEqual(['Work', 'Work/2024', 'Work/2024/Q1', 'Workshop'])
    expect(matches('Work%', folders)).toEqual(['Work', 'Workshop'])
    expect(matches('%/%', folders)).toEqual(['INBOX/a', 'Work/2024', '😀 Fun/x'])
    expect(matches('😀%', folders)).toEqual(['😀 Fun'])
  })

  it('other names are case-sensitive; INBOX is not', () => {
    expect(matches('work', folders)).toEqual([])
    expect(matches('inbox', folders)).toEqual(['INBOX'])
    expect(matches('Inbox/%', folders)).toEqual(['INBOX/a'])
    expect(matches('inbox*', folders)).toEqual(['INBOX', 'INBOX/a', 'INBOX/a/b'])
  })

  it('regular-expression characters in a pattern are literal', () => {
    expect(matches('a.b', folders)).toEqual(['a.b'])
    const special = ['a+b', 'a(b)', 'a[b]', 'a{1}', 'a$', '^a', 'a|b', 'a?b', 'a\\b']
    for (const name of special) {
      expect(listPattern(name)(name), name).toBe(true)
      expect(listPattern(name)(name + 'x'), name).toBe(false)
    }
    expect(listPattern('a+b')('aab')).toBe(false)
  })

  it('many wildcards against a long name take linear time, not exponential (no backtracking)', () => {
    // a backtracking regular expression took minutes here (the test would time out)
    const name = 'a'.repeat(500)
    expect(listPattern('*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b')(name)).toBe(false)
    expect(listPattern('%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a')(name)).toBe(true)
  })

  it('consecutive wildcards collapse: ** is *, *% is *, %% is %', () => {
    const folders2 = ['a', 'a/b', 'a/b/c']
    expect(folders2.filter(listPattern('a**'))).toEqual(folders2)
    expect(folders2.filter(listPattern('a%*'))).toEqual(folders2)
    expect(folders2.filter(listPattern('a%%'))).toEqual(['a'])
  })
})
