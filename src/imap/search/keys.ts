/**
 * SEARCH criteria (RFC 3501 §6.4.4, RFC 9051 §6.4.4): the `search-key` grammar read into a tree
 * of keys that ./matching.ts evaluates. SORT and THREAD read their criteria here too.
 */
import {numberOf, parseDate, stringOf} from '../args.js'
import {ParseError, type Node} from '../parser.js'
import {isSequenceSet, parseSequenceSet, type Range} from '../sequence.js'
import {ImapError} from '../session.js'

export type Key =
  | {op: 'all'}
  | {op: 'flag'; flag: string; set: boolean; lower?: string}
  | {op: 'recent'; set: boolean}
  | {op: 'new'}
  | {op: 'seq' | 'uid'; ranges: Range[]; merged?: [number, number][]}
  /** `$`: the session's saved search result (RFC 5182), as a key or as `UID $` */
  | {op: 'saved'}
  | {op: 'not'; key: Key}
  | {op: 'or'; a: Key; b: Key}
  | {op: 'and'; keys: Key[]}
  | {op: 'larger' | 'smaller'; size: number}
  | {op: 'date'; sent: boolean; cmp: 'before' | 'on' | 'since'; day: number}
  | {op: 'header'; field: string; value: string}
  | {op: 'body' | 'text'; value: string}
  | {op: 'modseq'; modseq: number}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
}
const DATE_KEYS: Record<string, [boolean, 'before' | 'on' | 'since']> = {
  BEFORE: [false, 'before'],
  ON: [false, 'on'],
  SINCE: [false, 'since'],
  SENTBEFORE: [true, 'before'],
  SENTON: [true, 'on'],
  SENTSINCE: [true, 'since'],
}
const HEADER_KEYS = new Set(['FROM', 'TO', 'CC', 'BCC', 'SUBJECT'])

/** NOT, OR and parentheses nest at most this deep */
const MAX_KEY_DEPTH = 64

class KeyReader {
  private i = 0
  private depth = 0
  constructor(
    private readonly nodes: Node[],
    outer = 0,
  ) {
    this.depth = outer
  }

  get done(): boolean {
    return this.i >= this.nodes.length
  }

  private next(what: string): Node {
    const n = this.nodes[this.i++]
    if (!n) throw new ParseError(`SEARCH: missing ${what}`)
    return n
  }

  private string(what: string): string {
    return stringOf(this.next(what), what)
  }

  key(): Key {
    if (++this.depth > MAX_KEY_DEPTH) throw new ParseError('SEARCH: keys nested too deeply')
    try {
      return this.oneKey()
    } finally {
      this.depth--
    }
  }

  private oneKey(): Key {
    const n = this.next('search key')
    if (n.type === 'list') {
      const inner = new KeyReader(n.items, this.depth)
      const keys: Key[] = []
      while (!inner.done) keys.push(inner.key())
      if (!keys.length) throw new ParseError('SEARCH: empty parenthesized key')
      return keys.length === 1 ? keys[0]! : {op: 'and', keys}
    }
    if (n.type !== 'atom') throw new ParseError('SEARCH: expected a search key')
    const name = n.value.toUpperCase()
    if (n.value === '$') return {op: 'saved'}
    if (isSequenceSet(n.value)) return {op: 'seq', ranges: parseSequenceSet(n.value)}
    if (FLAG_KEYS[name]) return {op: 'flag', flag: FLAG_KEYS[name][0], set: FLAG_KEYS[name][1]}
    if (DATE_KEYS[name]) {
      const [sent, cmp] = DATE_KEYS[name]
      return {op: 'date', sent, cmp, day: parseDate(this.string('date'))}
    }
    if (HEADER_KEYS.has(name)) return {op: 'header', field: name.toLowerCase(), value: this.string('string')}
    switch (name) {
      case 'ALL':
        return {op: 'all'}
      case 'RECENT':
        return {op: 'recent', set: true}
      case 'OLD':
        return {op: 'recent', set: false}
      case 'NEW':
        return {op: 'new'}
      case 'KEYWORD':
      case 'UNKEYWORD':
        return {op: 'flag', flag: this.string('keyword'), set: name === 'KEYWORD'}
      case 'LARGER':
      case 'SMALLER':
        return {op: name === 'LARGER' ? 'larger' : 'smaller', size: numberOf(this.next('size'), 'size')}
      case 'UID': {
        const set = this.string('UID set')
        return set === '$' ? {op: 'saved'} : {op: 'uid', ranges: parseSequenceSet(set)}
      }
      case 'NOT':
        return {op: 'not', key: this.key()}
      case 'OR':
        return {op: 'or', a: this.key(), b: this.key()}
      case 'HEADER':
        return {op: 'header', field: this.string('header field').toLowerCase(), value: this.string('string')}
      case 'MODSEQ': {
        // MODSEQ ["/flags/<flag>" priv|shared|all] n (RFC 7162 §3.1.5): we keep one MODSEQ per message, so the entry is ignored
        if (this.nodes[this.i]?.type === 'string') {
          this.string('entry name')
          this.string('entry type')
        }
        return {op: 'modseq', modseq: numberOf(this.next('mod-sequence'), 'mod-sequence')}
      }
      case 'BODY':
      case 'TEXT':
        return {op: name === 'BODY' ? 'body' : 'text', value: this.string('string')}
      default:
        throw new ParseError(`SEARCH: unknown key ${name.slice(0, 30)}`)
    }
  }
}

/** A parsed search program: `[CHARSET name] key…` as one key. */
export type SearchKey = Key

/**
 * Reads `[CHARSET charset] search-key…` (the rest of a SEARCH, or SORT's/THREAD's criteria after
 * their charset). After ENABLE UTF8=ACCEPT (`utf8Accept`) the strings are UTF-8 by definition: a
 * SEARCH CHARSET, or a SORT/THREAD charset other than UTF-8, is BAD (RFC 6855 §3 and its erratum 4029).
 */
export function parseCriteria(nodes: Node[], charsetFirst = false, utf8Accept = false): SearchKey {
  let start = 0
  const first = nodes[0]
  if (charsetFirst || (first?.type === 'atom' && first.value.toUpperCase() === 'CHARSET')) {
    const at = charsetFirst ? 0 : 1
    const charset = stringOf(nodes[at] ?? {type: 'atom', value: ''}, 'charset').toUpperCase()
    if (utf8Accept && (!charsetFirst || charset !== 'UTF-8')) throw new ParseError('No charset but UTF-8 after ENABLE UTF8=ACCEPT (RFC 6855 section 3)')
    if (charset !== 'UTF-8' && charset !== 'US-ASCII') throw new ImapError('NO', `Unsupported charset ${charset.slice(0, 30)}`, 'BADCHARSET (UTF-8 US-ASCII)')
    start = at + 1
  }
  const reader = new KeyReader(nodes.slice(start))
  const keys: Key[] = []
  while (!reader.done) keys.push(reader.key())
  if (!keys.length) throw new ParseError('SEARCH needs a search key')
  return keys.length === 1 ? keys[0]! : {op: 'and', keys}
}

