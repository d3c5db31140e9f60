/**
 * IMAP command syntax (RFC 3501 §9) → a small tree: atoms, strings (quoted or literal), lists,
 * and fetch sections (`BODY.PEEK[HEADER.FIELDS (FROM)]<0.100>`). The framing layer has already
 * split the command into its text pieces and literal bytes, so this never sees `{n}` markers:
 * a literal is a Buffer between two text pieces. What each argument means is the commands'
 * business (see `args.ts`); this only knows the grammar, and throws `ParseError` (answered BAD).
 */

export type Node =
  | {type: 'atom'; value: string}
  /** `binary`: sent as a literal8 (`~{n}`, RFC 3516), which may hold NUL octets */
  | {type: 'string'; value: string; bytes?: Buffer; binary?: true}
  | {type: 'list'; items: Node[]}
  | {type: 'section'; name: string; section: Node[]; partial?: [number, number]}

export interface Command {
  tag: string
  /** upper-cased command name */
  name: string
  args: Node[]
}

export class ParseError extends Error {
  override readonly name = 'ParseError'
}

/** fetch attributes that take a `[section]` */
const SECTIONED = new Set(['BODY', 'BODY.PEEK', 'BINARY', 'BINARY.PEEK', 'BINARY.SIZE'])

/** parentheses and brackets nest at most this deep: real commands use 3 or 4 levels */
const MAX_DEPTH = 64

/**
 * The ASCII characters that end an atom, as a table by character code: looked up without making
 * a one-character string per character, or a stop string per argument.
 */
function stopsOf(chars: string): Uint8Array {
  const table = new Uint8Array(128)
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1
  return table
}

const TAG_STOPS = stopsOf(' (){%*"\\]+')
const NAME_STOPS = stopsOf(' ')
const PARTIAL_STOPS = stopsOf('>')
/** an argument's atom in a list closed by `close` ('' at the top level), ended by '[' or not */
const ARG_STOPS: Record<string, {plain: Uint8Array; bracket: Uint8Array}> = Object.fromEntries(
  ['', ')', ']'].map((close) => [close, {plain: stopsOf(' ()"' + close), bracket: stopsOf(' ()"' + close + '[')}]),
)

class Reader {
  private part = 0
  private pos = 0
  private depth = 0

  constructor(private readonly parts: (string | Buffer)[]) {}

  private text(): string | undefined {
    const p = this.parts[this.part]
    return typeof p === 'string' ? p : undefined
  }

  /** the next character, '' at a literal, undefined at the very end */
  peek(): string | undefined {
    for (;;) {
      const p = this.parts[this.part]
      if (p === undefined) return undefined
      if (typeof p !== 'string') return ''
      if (this.pos < p.length) return p[this.pos]
      // end of a text piece: a literal (or the end) follows
      if (this.part === this.parts.length - 1) return undefined
      this.part++
      this.pos = 0
    }
  }

  atEnd(): boolean {
    return this.peek() === undefined
  }

  next(): string {
    const c = this.peek()
    if (!c) throw new ParseError('unexpected end of command')
    this.pos++
    return c
  }

  expect(c: string): void {
    if (this.peek() !== c) throw new ParseError(`expected "${c}"`)
    this.pos++
  }

  /** an atom's characters up to a delimiter (RFC 3501 atom-specials, minus the ones commands use inside atoms) */
  word(stops: Uint8Array): string {
    const t = this.text()
    if (t === undefined) return ''
    let end = this.pos
    for (; end < t.length; end++) {
      const c = t.charCodeAt(end)
      if (c <= 0x1f || c === 0x7f || (c < 0x80 && stops[c] === 1)) break
    }
    const w = t.slice(this.pos, end)
    this.pos = end
    return w
  }

  literal(): Buffer {
    const p = this.parts[this.part]
    if (!Buffer.isBuffer(p)) throw new ParseError('expected a literal')
    this.part++
    this.pos = 0
    return p
  }

  /** a `~` that ends its text piece, with literal bytes next: the framing cut a literal8 `~{n}` there */
  private literal8Follows(): boolean {
    const t = this.text()
    return t !== undefined && this.pos === t.length - 1 && Buffer.isBuffer(this.parts[this.part + 1])
  }

  quoted(): string {
    this.expect('"')
    let out = ''
    for (;;) {
      const c = this.next()
      if (c === '"') return out
      if (c === '\\') {
        const e = this.next()
        if (e !== '\\' && e !== '"') throw new ParseError('bad escape in quoted string')
        out += e
      } else if (c === '\r' || c === '\n' || c === '\0') {
        throw new ParseError('line break or NUL in quoted string')
      } else {
        out += c
      }
    }
  }

  node(close: string): Node {
    const c = this.peek()
    if (c === undefined) throw new ParseError('missing argument')
    if (c === '') {
      const bytes = this.literal()
      return {type: 'string', value: bytes.toString('utf8'), bytes}
    }
    if (c === '~' && this.literal8Follows()) {
      this.pos++
      this.peek() // steps over the end of the text piece, onto the literal
      const bytes = this.literal()
      return {type: 'string', value: bytes.toString('utf8'), bytes, binary: true}
    }
    if (c === '"') return {type: 'string', value: this.quoted()}
    if (c === '(') {
      this.pos++
      return {type: 'list', items: this.sequence(')')}
    }
    const stops = ARG_STOPS[close]!
    const value = this.word(stops.bracket)
    if (this.peek() === '[' && SECTIONED.has(value.toUpperCase())) return this.section(value.toUpperCase())
    if (this.peek() === '[') {
      // a '[' inside an ordinary atom (a LIST pattern, say): keep it as part of the atom
      this.pos++
      return {type: 'atom', value: value + '[' + this.word(stops.plain)}
    }
    if (!value) throw new ParseError(`unexpected "${c}"`)
    return {type: 'atom', value}
  }

  private section(name: string): Node {
    this.expect('[')
    const section = this.sequence(']')
    let partial: [number, number] | undefined
    if (this.peek() === '<') {
      this.pos++
      const spec = this.word(PARTIAL_STOPS)
      this.expect('>')
      const m = /^(\d+)(?:\.(\d+))?$/.exec(spec)
      if (!m) throw new ParseError('bad partial range')
      partial = [Number(m[1]), m[2] === undefined ? Infinity : Number(m[2])]
    }
    return {type: 'section', name, section, ...(partial ? {partial} : {})}
  }

  /** nodes separated by single spaces up to `close` (consumed), or to the end when close is '' */
  sequence(close: string): Node[] {
    if (close && ++this.depth > MAX_DEPTH) throw new ParseError('Too deeply nested')
    try {
      return this.items(close)
    } finally {
      if (close) this.depth--
    }
  }

  private items(close: string): Node[] {
    const items: Node[] = []
    for (;;) {
      const c = this.peek()
      if (c === undefined) {
        if (close) throw new ParseError(`missing "${close}"`)
        return items
      }
      if (close && c === close) {
        this.pos++
        return items
      }
      if (items.length) {
        if (c !== ' ') throw new ParseError('expected a space between arguments')
        this.pos++
        // tolerate a trailing space before the end or the closing bracket
        if (this.peek() === undefined && !close) return items
        if (close && this.peek() === close) continue
      }
      items.push(this.node(close))
    }
  }
}

/** Splits off the tag and the command name; the arguments are parsed in the same pass. */
export function parseCommand(parts: (string | Buffer)[]): Command {
  const r = new Reader(parts)
  const tag = r.word(TAG_STOPS)
  if (!tag) throw new ParseError('missing tag')
  if (r.peek() !== ' ') throw new ParseError('missing command')
  r.next()
  const name = r.word(NAME_STOPS).toUpperCase()
  if (!/^[A-Z][A-Z0-9.-]*$/.test(name)) throw new ParseError('missing command')
  if (r.atEnd()) return {tag, name, args: []}
  r.expect(' ')
  return {tag, name, args: r.sequence('')}
}

/** The tag of a command line, for answering a command that could not be parsed ('*' when there is none). */
export function tagOf(line: string): string {
  const m = /^([^\s(){%*"\\\]+]+)(?: |$)/.exec(line)
  return m ? m[1]! : '*'
}
