/** Reading a command's arguments: each helper names the grammar element it expects and throws ParseError (BAD) otherwise. */
import {MailboxError} from '../errors.js'
import {decodeMailboxName} from './mutf7.js'
import {ParseError, type Node} from './parser.js'

export class Args {
  private i = 0

  constructor(
    private readonly nodes: Node[],
    private readonly command: string,
  ) {}

  get remaining(): number {
    return this.nodes.length - this.i
  }

  peek(): Node | undefined {
    return this.nodes[this.i]
  }

  node(what: string): Node {
    const n = this.nodes[this.i++]
    if (!n) throw new ParseError(`${this.command}: missing ${what}`)
    return n
  }

  atom(what: string): string {
    const n = this.node(what)
    if (n.type !== 'atom') throw new ParseError(`${this.command}: ${what} must be an atom`)
    return n.value
  }

  /** atom, quoted string or literal */
  astring(what: string): string {
    const n = this.node(what)
    if (n.type === 'atom' || n.type === 'string') return n.value
    throw new ParseError(`${this.command}: ${what} must be a string`)
  }

  /** a mailbox name (modified UTF-7 on the wire); a malformed one is `NO`, as Dovecot answers: the syntax was right */
  mailbox(what = 'mailbox name'): string {
    const name = decodeName(this.astring(what))
    if (name === undefined) throw new MailboxError('invalid', `${what} is not valid modified UTF-7`)
    return name
  }

  list(what: string): Node[] {
    const n = this.node(what)
    if (n.type !== 'list') throw new ParseError(`${this.command}: ${what} must be a parenthesized list`)
    return n.items
  }

  /** a parenthesized list or a single item (e.g. STORE's flags) */
  listOrOne(what: string): Node[] {
    const n = this.node(what)
    return n.type === 'list' ? n.items : [n]
  }

  end(): void {
    if (this.i < this.nodes.length) throw new ParseError(`${this.command}: too many arguments`)
  }
}

/** a mailbox name or pattern from the wire (modified UTF-7); undefined when it is malformed */
export function decodeName(raw: string): string | undefined {
  try {
    return decodeMailboxName(raw)
  } catch {
    return undefined
  }
}

export function atomsOf(nodes: Node[], what: string): string[] {
  return nodes.map((n) => {
    if (n.type !== 'atom') throw new ParseError(`${what} must be atoms`)
    return n.value
  })
}

export function stringOf(n: Node, what: string): string {
  if (n.type === 'atom' || n.type === 'string') return n.value
  throw new ParseError(`${what} must be a string`)
}

export function numberOf(n: Node | undefined, what: string): number {
  if (n?.type !== 'atom' || !/^\d{1,15}$/.test(n.value)) throw new ParseError(`${what} must be a number`)
  return Number(n.value)
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** RFC 3501 date (`1-Feb-2024`) → UTC midnight, epoch ms */
export function parseDate(text: string): number {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text)
  const month = m ? MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase()) : -1
  if (!m || month < 0) throw new ParseError(`bad date ${JSON.stringify(text)}`)
  return Date.UTC(Number(m[3]), month, Number(m[1]))
}

/** RFC 3501 date-time (`17-Jul-1996 02:44:25 -0700`) → epoch ms */
export function parseDateTime(text: string): number {
  const m = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(text)
  const month = m ? MONTHS.findIndex((x) => x.toLowerCase() === m[2]!.toLowerCase()) : -1
  if (!m || month < 0) throw new ParseError(`bad date-time ${JSON.stringify(text)}`)
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]))
  return Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])) - offset * 60_000
}

export function formatDateTime(ms: number): string {
  const d = new Date(ms)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
}
