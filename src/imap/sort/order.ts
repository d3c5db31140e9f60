/**
 * SORT's ordering (RFC 5256 §3, RFC 5957): the sort criteria, and messages put in their order.
 * Every criterion compares already case-mapped keys (i;unicode-casemap); the sequence number
 * breaks the ties that remain (§3: "the order in which the messages appear in the mailbox").
 */
import type {SortKeys} from '../../mime/sort-keys.js'
import type {MessageRecord} from '../../store/records.js'
import {ParseError, type Node} from '../parser.js'

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO'

export interface SortCriterion {
  key: SortKey
  reverse: boolean
}

const KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO'])

/** `(REVERSE DATE SUBJECT)` → criteria; anything else is BAD */
export function parseSortCriteria(node: Node | undefined): SortCriterion[] {
  if (node?.type !== 'list') throw new ParseError('SORT needs a parenthesized list of sort criteria')
  const criteria: SortCriterion[] = []
  let reverse = false
  for (const item of node.items) {
    const name = item.type === 'atom' ? item.value.toUpperCase() : ''
    if (name === 'REVERSE' && !reverse) reverse = true
    else if (KEYS.has(name)) {
      criteria.push({key: name as SortKey, reverse})
      reverse = false
    } else throw new ParseError(`SORT: unknown sort criterion ${(item.type === 'atom' ? item.value : item.type).slice(0, 30)}`)
  }
  if (reverse || !criteria.length) throw new ParseError('SORT: a sort criterion must follow REVERSE, and one is needed')
  return criteria
}

/** a message to order: its sequence number, record and keys */
export interface Sortable {
  seq: number
  record: MessageRecord
  keys: SortKeys
  /** RFC 5256 §2.2 sent date: the Date header, else the internal date */
  date: number
}

export function sortable(seq: number, record: MessageRecord, keys: SortKeys): Sortable {
  return {seq, record, keys, date: keys.sent ?? record.internalDate}
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** the string-valued criteria and the SortKeys field each compares */
const STRING_FIELDS = {SUBJECT: 'subject', FROM: 'from', TO: 'to', CC: 'cc', DISPLAYFROM: 'displayFrom', DISPLAYTO: 'displayTo'} as const

function comparator(key: SortKey): (a: Sortable, b: Sortable) => number {
  switch (key) {
    case 'ARRIVAL':
      return (a, b) => a.record.internalDate - b.record.internalDate
    case 'DATE':
      return (a, b) => a.date - b.date
    case 'SIZE':
      return (a, b) => a.record.size - b.record.size
    default: {
      const field = STRING_FIELDS[key]
      return (a, b) => compareStrings(a.keys[field], b.keys[field])
    }
  }
}

/** Sorts `messages` in place by `criteria`, ties by sequence number, and returns it. */
export function sortMessages(messages: Sortable[], criteria: SortCriterion[]): Sortable[] {
  const compares = criteria.map((c) => {
    const compare = comparator(c.key)
    return c.reverse ? (a: Sortable, b: Sortable) => compare(b, a) : compare
  })
  if (compares.length === 1) {
    const only = compares[0]!
    return messages.sort((a, b) => only(a, b) || a.seq - b.seq)
  }
  return messages.sort((a, b) => {
    for (const compare of compares) {
      const d = compare(a, b)
      if (d) return d
    }
    return a.seq - b.seq
  })
}
