/**
 * SEARCH and UID SEARCH with every RFC 3501 search key. Keys on flags, sizes, dates and numbers
 * run over the folder's in-memory view (so `SEARCH UNSEEN` over 100,000 messages is one pass);
 * header keys read the stored header, BODY and TEXT the decoded text cached by the mailstore.
 */
import libmime from 'libmime'
import {parseHeader} from '../../mime/header.js'
import type {MessageRecord} from '../../store/records.js'
import {numberOf, parseDate, stringOf} from '../args.js'
import {ParseError, type Node} from '../parser.js'
import {inRanges, isSequenceSet, mergeRanges, parseSequenceSet, type Range} from '../sequence.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'

type Key =
  | {op: 'all'}
  | {op: 'flag'; flag: string; set: boolean}
  | {op: 'recent'; set: boolean}
  | {op: 'new'}
  | {op: 'seq' | 'uid'; ranges: Range[]; merged?: [number, number][]}
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
      case 'UID':
        return {op: 'uid', ranges: parseSequenceSet(this.string('UID set'))}
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

interface Needs {
  header: boolean
  text: boolean
  sent: boolean
}

function needsOf(key: Key, needs: Needs = {header: false, text: false, sent: false}): Needs {
  switch (key.op) {
    case 'header':
      needs.header = true
      break
    case 'text':
      needs.header = needs.text = true
      break
    case 'body':
      needs.text = true
      break
    case 'date':
      if (key.sent) needs.sent = true
      break
    case 'not':
      needsOf(key.key, needs)
      break
    case 'or':
      needsOf(key.a, needs)
      needsOf(key.b, needs)
      break
    case 'and':
      key.keys.forEach((k) => needsOf(k, needs))
      break
  }
  return needs
}

function usesModseq(key: Key): boolean {
  if (key.op === 'modseq') return true
  if (key.op === 'not') return usesModseq(key.key)
  if (key.op === 'or') return usesModseq(key.a) || usesModseq(key.b)
  if (key.op === 'and') return key.keys.some(usesModseq)
  return false
}

interface Candidate {
  seq: number
  record: MessageRecord
  recent: boolean
  header?: {key: string; value: string}[]
  text?: string
  sent?: number
}

interface Extent {
  messages: number
  maxUid: number
}

const DAY = 86_400_000
const dayOf = (ms: number) => Math.floor(ms / DAY) * DAY
const contains = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.toLowerCase())

function matches(key: Key, c: Candidate, extent: Extent): boolean {
  switch (key.op) {
    case 'all':
      return true
    case 'flag': {
      const lower = key.flag.toLowerCase()
      return c.record.flags.some((f) => f.toLowerCase() === lower) === key.set
    }
    case 'recent':
      return c.recent === key.set
    case 'new':
      return c.recent && !c.record.flags.includes('\\Seen')
    case 'seq':
      // merged once per SEARCH: a set of thousands of ranges is then a binary search per message
      return inRanges((key.merged ??= mergeRanges(key.ranges, extent.messages)), c.seq)
    case 'uid':
      return inRanges((key.merged ??= mergeRanges(key.ranges, extent.maxUid)), c.record.uid)
    case 'not':
      return !matches(key.key, c, extent)
    case 'or':
      return matches(key.a, c, extent) || matches(key.b, c, extent)
    case 'and':
      return key.keys.every((k) => matches(k, c, extent))
    case 'larger':
      return c.record.size > key.size
    case 'smaller':
      return c.record.size < key.size
    case 'date': {
      const when = key.sent ? c.sent : c.record.internalDate
      if (when === undefined) return false
      const day = dayOf(when)
      return key.cmp === 'before' ? day < key.day : key.cmp === 'on' ? day === key.day : day >= key.day
    }
    case 'header':
      return (c.header ?? []).some((f) => f.key === key.field && contains(f.value, key.value))
    case 'modseq':
      return c.record.modseq >= key.modseq
    case 'body':
      return contains(c.text ?? '', key.value)
    case 'text':
      return contains(c.text ?? '', key.value) || (c.header ?? []).some((f) => contains(`${f.key}: ${f.value}`, key.value))
  }
}

function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value)
  } catch {
    return value
  }
}

async function load(session: Session, c: Candidate, needs: Needs): Promise<void> {
  if (needs.header || needs.sent) {
    const {raw, info} = await session.bus.call('mailstore.blob', {id: c.record.blobId})
    c.sent = info.summary?.date
    if (needs.header) {
      const end = info.structure?.bodyStart ?? raw.length
      c.header = parseHeader(raw.toString('utf8', 0, end)).map((f) => ({key: f.key, value: decodeWords(f.value)}))
    }
  }
  if (needs.text) c.text = (await session.bus.call('mailstore.searchText', {blobId: c.record.blobId})).text
}

/** A parsed search program: `[CHARSET name] key…` as one key. */
export type SearchKey = Key

/** Reads `[CHARSET charset] search-key…` (the rest of a SEARCH, or SORT's/THREAD's criteria after their charset). */
export function parseCriteria(nodes: Node[], charsetFirst = false): SearchKey {
  let start = 0
  const first = nodes[0]
  if (charsetFirst || (first?.type === 'atom' && first.value.toUpperCase() === 'CHARSET')) {
    const at = charsetFirst ? 0 : 1
    const charset = stringOf(nodes[at] ?? {type: 'atom', value: ''}, 'charset').toUpperCase()
    if (charset !== 'UTF-8' && charset !== 'US-ASCII') throw new ImapError('NO', `Unsupported charset ${charset.slice(0, 30)}`, 'BADCHARSET (UTF-8 US-ASCII)')
    start = at + 1
  }
  const reader = new KeyReader(nodes.slice(start))
  const keys: Key[] = []
  while (!reader.done) keys.push(reader.key())
  if (!keys.length) throw new ParseError('SEARCH needs a search key')
  return keys.length === 1 ? keys[0]! : {op: 'and', keys}
}

/** A message a search found: its sequence number in the session and its record. */
export interface Found {
  seq: number
  record: MessageRecord
}

/**
 * The selected folder's messages matching `key`, ascending; undefined when the session closed
 * while the search read messages. A MODSEQ key turns CONDSTORE on (RFC 7162 §3.1.5).
 */
export async function findMessages(session: Session, key: SearchKey): Promise<Found[] | undefined> {
  const selected = session.selected!
  const needs = needsOf(key)
  const loads = needs.header || needs.text || needs.sent
  const {records} = await session.bus.call('mailstore.view', {user: session.user!, mailboxId: selected.mailboxId})
  const uids = selected.uids
  const extent: Extent = {messages: uids.length, maxUid: uids.length ? uids[uids.length - 1]! : 0}
  const found: Found[] = []
  if (usesModseq(key)) session.enableCondstore()
  // the session's UIDs and the view's records are both ascending: walk them side by side
  let r = 0
  for (let i = 0; i < uids.length; i++) {
    const u = uids[i]!
    while (r < records.length && records[r]!.uid < u) r++
    const record = records[r]
    if (!record || record.uid !== u) continue
    const c: Candidate = {seq: i + 1, record, recent: selected.isRecent(u)}
    if (loads) {
      if (session.isClosed) return undefined
      await load(session, c, needs)
    }
    if (matches(key, c, extent)) found.push({seq: i + 1, record})
  }
  return found
}

export const SEARCH: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, {args, uid}) {
    const nodes: Node[] = []
    while (args.remaining) nodes.push(args.node('search key'))
    const key = parseCriteria(nodes)
    const found = await findMessages(session, key)
    if (!found) return
    // with a MODSEQ key, the reply names the highest MODSEQ of the messages found (RFC 7162 §3.1.5)
    let highest = 0
    for (const f of found) if (f.record.modseq > highest) highest = f.record.modseq
    const modseq = usesModseq(key) && found.length ? ` (MODSEQ ${highest})` : ''
    const numbers = found.map((f) => (uid ? f.record.uid : f.seq))
    session.write(`* SEARCH${numbers.length ? ' ' + numbers.join(' ') : ''}${modseq}\r\n`)
  },
}
