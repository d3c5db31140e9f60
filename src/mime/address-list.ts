/**
 * RFC 5322 address lists (§3.4, with the obsolete forms of §4.4) as an IMAP ENVELOPE needs them:
 * each mailbox as display name, source route, local part and domain, and groups as start/end
 * markers. Lenient the way Dovecot 2.3 is (its rendering is the reference): strings stay
 * undecoded (encoded-words included), quoted strings lose their quotes, a comment names an
 * address that has no display name, empty list elements are skipped, an unterminated group or
 * angle address ends at the end of the field. The cost is linear in the field's length.
 */

export interface ParsedAddress {
  /** display name (or the last comment when there is none) */
  name?: string
  /** obsolete source route, e.g. `@relay1,@relay2` */
  adl?: string
  /** local part; the group's name for a group start; absent for a group end */
  mailbox?: string
  /** domain; absent for group markers, empty when the address had none */
  host?: string
}

type Kind = 'word' | 'quoted' | 'comment' | 'literal' | 'special'

interface Token {
  kind: Kind
  text: string
  /** whitespace (or a comment) came before it: display names keep a single space there */
  spaced: boolean
}

/** reads a run delimited by `close`, honouring backslash escapes; comments nest */
function delimited(value: string, start: number, open: string, close: string): [text: string, end: number] {
  let text = ''
  let depth = 1
  let i = start + 1
  for (; i < value.length; i++) {
    const c = value[i]!
    if (c === '\\' && i + 1 < value.length) text += value[++i]
    else if (c === close && --depth === 0) return [text, i + 1]
    else {
      if (open === '(' && c === '(') depth++
      text += c
    }
  }
  return [text, i]
}

function tokenize(value: string): Token[] {
  const tokens: Token[] = []
  let spaced = false
  let i = 0
  while (i < value.length) {
    const c = value[i]!
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      spaced = true
      i++
      continue
    }
    let kind: Kind
    let text: string
    if (c === '"') [text, i] = (kind = 'quoted', delimited(value, i, '"', '"'))
    else if (c === '(') [text, i] = (kind = 'comment', delimited(value, i, '(', ')'))
    else if (c === '[') {
      const end = value.indexOf(']', i)
      kind = 'literal'
      text = end < 0 ? value.slice(i) : value.slice(i, end + 1)
      i = end < 0 ? value.length : end + 1
    } else if ('<>@,;:.'.includes(c)) {
      kind = 'special'
      text = c
      i++
    } else {
      const m = /[^\s"()[\]<>@,;:.]+/y
      m.lastIndex = i
      text = m.exec(value)![0]
      kind = 'word'
      i += text.length
    }
    tokens.push({kind, text, spaced})
    spaced = kind === 'comment'
  }
  return tokens
}

const isSpecial = (t: Token | undefined, c: string) => t?.kind === 'special' && t.text === c

class Parser {
  private i = 0
  private readonly out: ParsedAddress[] = []

  constructor(private readonly tokens: Token[]) {}

  parse(): ParsedAddress[] {
    while (this.i < this.tokens.length) this.element(false)
    return this.out
  }

  /** one list element: a group, a mailbox, or nothing (`a, , b`); consumes the comma after it */
  private element(inGroup: boolean): void {
    const phrase: Token[] = []
    const comments: string[] = []
    for (let t = this.tokens[this.i]; t; t = this.tokens[this.i]) {
      if (t.kind === 'comment') comments.push(t.text)
      else if (t.kind === 'special' && t.text !== '.') break
      else phrase.push(t)
      this.i++
    }
    const next = this.tokens[this.i]
    if (isSpecial(next, ':') && !inGroup) return this.group(phrase)
    if (isSpecial(next, '<')) {
      this.i++
      this.angle(phrase, comments)
    } else if (isSpecial(next, '@')) {
      this.i++
      const host = this.domain(comments, (t) => isSpecial(t, ',') || isSpecial(t, ';'))
      this.push(comments.at(-1), undefined, localPart(phrase), host)
    } else if (phrase.length && phrase.every((t, k) => (t.kind === 'word' || isSpecial(t, '.')) && (k === 0 || !t.spaced))) {
      // `From: root`, `MAILER-DAEMON (Mail Delivery System)`: a mailbox without a domain
      this.push(comments.at(-1), undefined, localPart(phrase), '')
    } else if (phrase.length) {
      this.push(displayName(phrase), undefined, '', '') // a display name alone: no mailbox, no domain
    }
    // skip to the end of the element: stray specials (`a@b c@d`, a lone `>`) are dropped
    while (this.i < this.tokens.length && !isSpecial(this.tokens[this.i], ',') && !(inGroup && isSpecial(this.tokens[this.i], ';'))) this.i++
    if (isSpecial(this.tokens[this.i], ',')) this.i++
  }

  private group(phrase: Token[]): void {
    this.i++ // ':'
    this.out.push({mailbox: displayName(phrase) ?? ''})
    while (this.i < this.tokens.length && !isSpecial(this.tokens[this.i], ';')) this.element(true)
    this.i++ // ';'
    this.out.push({})
    // whatever follows the group up to the next comma belongs to nothing
    while (this.i < this.tokens.length && !isSpecial(this.tokens[this.i], ',')) this.i++
    this.i++
  }

  /** `[phrase] < [route :] addr-spec >`, after the `<` */
  private angle(phrase: Token[], comments: string[]): void {
    let adl: string | undefined
    if (isSpecial(this.tokens[this.i], '@')) {
      // the route ends at ':'; a '>', '<' or ';' first means there is none (and bounds the look-ahead)
      let end = this.i + 1
      while (end < this.tokens.length && !(this.tokens[end]!.kind === 'special' && ':><;'.includes(this.tokens[end]!.text))) end++
      if (isSpecial(this.tokens[end], ':')) {
        adl = this.tokens.slice(this.i, end).filter((t) => t.kind !== 'comment').map((t) => t.text).join('')
        this.i = end + 1
      }
    }
    const local: Token[] = []
    for (let t = this.tokens[this.i]; t && !(t.kind === 'special' && '@>,;'.includes(t.text)); t = this.tokens[++this.i]) if (t.kind !== 'comment') local.push(t)
    let host = ''
    if (isSpecial(this.tokens[this.i], '@')) {
      this.i++
      host = this.domain([], (t) => isSpecial(t, '>') || isSpecial(t, ',') || isSpecial(t, ';'))
    }
    if (isSpecial(this.tokens[this.i], '>')) this.i++
    // comments after the angle address name it only when there is no display name
    for (let t = this.tokens[this.i]; t?.kind === 'comment'; t = this.tokens[++this.i]) comments.push(t.text)
    this.push(displayName(phrase) ?? comments.at(-1), adl, localPart(local), host)
  }

  /** a domain up to a token `stop` says ends it; comments in and after it are collected */
  private domain(comments: string[], stop: (t: Token) => boolean): string {
    let host = ''
    for (let t = this.tokens[this.i]; t && !stop(t); t = this.tokens[++this.i]) {
      if (t.kind === 'comment') comments.push(t.text)
      else if (t.spaced && host && t.kind === 'word') break // `a@b c@d`: the rest is dropped
      else if (t.kind !== 'special' || t.text === '.') host += t.text
      else break
    }
    return host
  }

  private push(name: string | undefined, adl: string | undefined, mailbox: string, host: string): void {
    this.out.push({...(name ? {name} : {}), ...(adl ? {adl} : {}), mailbox, host})
  }
}

/** a display name: its words with single spaces where the field had space, quotes removed */
function displayName(phrase: Token[]): string | undefined {
  const name = phrase.map((t, k) => (k > 0 && t.spaced ? ' ' : '') + t.text).join('')
  return name === '' ? undefined : name
}

/** a local part: its words, dots and quoted strings (unquoted) run together */
const localPart = (tokens: Token[]): string => tokens.map((t) => t.text).join('')

export function parseAddressList(value: string): ParsedAddress[] {
  return new Parser(tokenize(value)).parse()
}
