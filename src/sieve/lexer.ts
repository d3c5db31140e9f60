/**
 * Sieve tokens (RFC 5228 §8.1): identifiers, tags, numbers with K/M/G, quoted and multi-line
 * strings, the punctuation; comments and white space skipped. One linear pass; every token
 * carries its line and column for the error messages ManageSieve sends back.
 */

export type TokenKind = 'identifier' | 'tag' | 'number' | 'string' | 'punct' | 'eof'

export interface Token {
  kind: TokenKind
  /** identifier and tag names lowercased (Sieve names are case-insensitive); string contents; the punctuation character */
  text: string
  /** for numbers: the value with its quantifier applied */
  value?: number
  line: number
  column: number
}

export class SieveSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message)
  }
}

const QUANTIFIERS: Record<string, number> = {k: 1024, m: 1024 ** 2, g: 1024 ** 3}

const isIdentStart = (c: string) => /[A-Za-z_]/.test(c)
const isIdent = (c: string) => /[A-Za-z0-9_]/.test(c)
const isDigit = (c: string) => c >= '0' && c <= '9'

export function tokenize(text: string): Token[] {
  // RFC 5228 §8.1 allows NUL nowhere (strings, comments); PostgreSQL's text could not store it either
  const nul = text.indexOf('\0')
  if (nul !== -1) {
    const before = text.slice(0, nul).split('\n')
    throw new SieveSyntaxError('a NUL character is not allowed in a script', before.length, before[before.length - 1]!.length + 1)
  }
  const tokens: Token[] = []
  let i = 0
  let line = 1
  let lineStart = 0
  const col = (at: number) => at - lineStart + 1
  const newline = (at: number) => {
    line++
    lineStart = at + 1
  }
  while (i < text.length) {
    const c = text[i]!
    if (c === '\n') {
      newline(i)
      i++
      continue
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++
      continue
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++
      continue
    }
    if (c === '/' && text[i + 1] === '*') {
      const [l, cl] = [line, col(i)]
      const end = text.indexOf('*/', i + 2)
      if (end === -1) throw new SieveSyntaxError('unterminated comment', l, cl)
      for (let j = i; j < end; j++) if (text[j] === '\n') newline(j)
      i = end + 2
      continue
    }
    const at = {line, column: col(i)}
    if ('[](){},;'.includes(c)) {
      tokens.push({kind: 'punct', text: c, ...at})
      i++
      continue
    }
    if (c === '"') {
      let out = ''
      i++
      for (;;) {
        if (i >= text.length) throw new SieveSyntaxError('unterminated string', at.line, at.column)
        const d = text[i]!
        if (d === '"') break
        if (d === '\\' && i + 1 < text.length) {
          // RFC 5228 §2.4.2: \" and \\ are the escapes; a backslash before anything else is dropped
          i++
        }
        if (text[i] === '\n') newline(i)
        out += text[i]
        i++
      }
      i++
      tokens.push({kind: 'string', text: out, ...at})
      continue
    }
    if (c === ':') {
      let j = i + 1
      if (j >= text.length || !isIdentStart(text[j]!)) throw new SieveSyntaxError('a tag must be ":" followed by a name', at.line, at.column)
      while (j < text.length && isIdent(text[j]!)) j++
      tokens.push({kind: 'tag', text: text.slice(i + 1, j).toLowerCase(), ...at})
      i = j
      continue
    }
    if (isDigit(c)) {
      let j = i
      while (j < text.length && isDigit(text[j]!)) j++
      let value = Number(text.slice(i, j))
      const q = QUANTIFIERS[(text[j] ?? '').toLowerCase()]
      if (q) {
        value *= q
        j++
      }
      if (j < text.length && isIdent(text[j]!)) throw new SieveSyntaxError(`invalid number "${text.slice(i, j + 1)}"`, at.line, at.column)
      if (!Number.isSafeInteger(value)) throw new SieveSyntaxError('number too large', at.line, at.column)
      tokens.push({kind: 'number', text: text.slice(i, j), value, ...at})
      i = j
      continue
    }
    if (isIdentStart(c)) {
      let j = i
      while (j < text.length && isIdent(text[j]!)) j++
      const name = text.slice(i, j).toLowerCase()
      if (name === 'text' && text[j] === ':') {
        i = multiline(j + 1, at)
        continue
      }
      tokens.push({kind: 'identifier', text: name, ...at})
      i = j
      continue
    }
    throw new SieveSyntaxError(`unexpected character "${c}"`, at.line, at.column)
  }
  tokens.push({kind: 'eof', text: '', line, column: col(i)})
  return tokens

  /** `text:` [blanks] [#comment] CRLF, lines, then a line holding a single "." (RFC 5228 §2.4.2) */
  function multiline(from: number, at: {line: number; column: number}): number {
    let j = from
    while (text[j] === ' ' || text[j] === '\t') j++
    if (text[j] === '#') while (j < text.length && text[j] !== '\n') j++
    if (text[j] === '\r') j++
    if (text[j] !== '\n') throw new SieveSyntaxError('"text:" must be followed by the end of the line', at.line, at.column)
    newline(j)
    j++
    const lines: string[] = []
    for (;;) {
      if (j >= text.length) throw new SieveSyntaxError('unterminated multi-line string (a line with a single "." ends it)', at.line, at.column)
      let end = text.indexOf('\n', j)
      if (end === -1) end = text.length
      const raw = text.slice(j, end).replace(/\r$/, '')
      if (end < text.length) newline(end)
      j = end + 1
      if (raw === '.') break
      lines.push(raw.startsWith('..') ? raw.slice(1) : raw)
    }
    tokens.push({kind: 'string', text: lines.map((l) => l + '\r\n').join(''), ...at})
    return j
  }
}
