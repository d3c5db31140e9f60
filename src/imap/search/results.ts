/**
 * Extended search results: the `RETURN (...)` options of ESEARCH (RFC 4731) with SAVE (RFC 5182)
 * and PARTIAL (RFC 9394), and the `* ESEARCH` response. SEARCH calls these; SORT uses the same
 * functions for `SORT RETURN (...)` (RFC 5267 §3.2), passing its messages in sort order.
 */
import {compactSet} from '../format.js'
import {ParseError, type Node} from '../parser.js'
import type {Found} from './matching.js'

/** PARTIAL's range (RFC 9394 §3.1): 1-based positions in the result; negative ones count from its end */
export interface PartialRange {
  /** as the client wrote it, echoed in the response */
  text: string
  from: number
  to: number
}

export interface ReturnOptions {
  min: boolean
  max: boolean
  all: boolean
  count: boolean
  save: boolean
  /** keep the search live and report its changes (CONTEXT=SEARCH, RFC 5267 §4.3) */
  update: boolean
  partial?: PartialRange
}

const MAX_NZ = 0xffff_ffff

/** `n:m` or `-n:-m` (RFC 9394 §4); also the PARTIAL FETCH modifier's argument */
export function parsePartial(node: Node | undefined): PartialRange {
  if (node?.type !== 'atom') throw new ParseError('PARTIAL needs a range n:m or -n:-m')
  const text = node.value
  const m = /^(-?)([1-9]\d{0,9}):(-?)([1-9]\d{0,9})$/.exec(text)
  if (!m || m[1] !== m[3] || Number(m[2]) > MAX_NZ || Number(m[4]) > MAX_NZ) throw new ParseError('PARTIAL needs a range n:m or -n:-m')
  const sign = m[1] ? -1 : 1
  const a = sign * Number(m[2])
  const b = sign * Number(m[4])
  return {text, from: Math.min(a, b), to: Math.max(a, b)}
}

/** The options in `RETURN (...)`; `()` means ALL (RFC 4731 §3.1). */
export function parseReturnOptions(list: Node): ReturnOptions {
  if (list.type !== 'list') throw new ParseError('RETURN needs a parenthesized list of options')
  const options: ReturnOptions = {min: false, max: false, all: false, count: false, save: false, update: false}
  const items = list.items
  const seen = new Set<string>()
  let hint = false
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!
    const name = item.type === 'atom' ? item.value.toUpperCase() : ''
    if (seen.has(name)) throw new ParseError(`RETURN has ${name} twice`)
    seen.add(name)
    if (name === 'MIN' || name === 'MAX' || name === 'ALL' || name === 'COUNT' || name === 'SAVE' || name === 'UPDATE') {
      options[name.toLowerCase() as 'min' | 'max' | 'all' | 'count' | 'save' | 'update'] = true
    } else if (name === 'PARTIAL') {
      options.partial = parsePartial(items[++i])
    } else if (name === 'CONTEXT') {
      // RFC 5267 §4.2: a hint that the search will be repeated or updated; servers may ignore it
      hint = true
    } else {
      throw new ParseError(`unknown RETURN option ${name.slice(0, 30) || '(not an atom)'}`)
    }
  }
  // RFC 9394 §3.1: PARTIAL and ALL ask for different things at once
  if (options.partial && options.all) throw new ParseError('RETURN cannot have both PARTIAL and ALL')
  if (items.length === (hint ? 1 : 0)) options.all = true
  return options
}

/** `RETURN (...)` at the start of a command's arguments: the options and the arguments after it */
export function readReturn(nodes: Node[]): {options?: ReturnOptions; rest: Node[]} {
  const first = nodes[0]
  if (first?.type !== 'atom' || first.value.toUpperCase() !== 'RETURN') return {rest: nodes}
  if (!nodes[1]) throw new ParseError('RETURN needs a list of options')
  return {options: parseReturnOptions(nodes[1]), rest: nodes.slice(2)}
}

/** the entries at PARTIAL's positions of `found` (messages, or FETCH's indexes), in the same order */
export function partialOf<T>(found: T[], range: PartialRange): T[] {
  const n = found.length
  // positions to 0-based indexes: 1 → 0, -1 → n - 1
  const lo = range.from > 0 ? range.from - 1 : n + range.from
  const hi = range.to > 0 ? range.to - 1 : n + range.to
  return found.slice(Math.max(lo, 0), Math.max(hi + 1, 0))
}

/** the messages MIN/MAX/PARTIAL name, or all of them when ALL or COUNT is asked for (or nothing but SAVE) */
function named(found: Found[], options: ReturnOptions): Found[] {
  if (options.all || options.count || !(options.min || options.max || options.partial)) return found
  const out = new Set<Found>()
  if (options.min && found.length) out.add(found[0]!)
  if (options.max && found.length) out.add(found[found.length - 1]!)
  if (options.partial) for (const f of partialOf(found, options.partial)) out.add(f)
  return [...out]
}

/**
 * The UIDs that SAVE keeps (RFC 5182 §2.4): only MIN and/or MAX when those are all that was
 * asked for (RFC 9394: and PARTIAL's page), otherwise the whole result. Ascending.
 */
export function savedUids(found: Found[], options: ReturnOptions): number[] {
  return named(found, options)
    .map((f) => f.record.uid)
    .sort((a, b) => a - b)
}

/**
 * The `* ESEARCH` line, or undefined when SAVE is the only option (RFC 5182 §2.1: no response;
 * with UPDATE the line is sent, empty, as Dovecot does).
 * `found` is in result order (ascending for SEARCH, the sort order for SORT); MIN and MAX are its
 * first and last. `modseq`: the search had a MODSEQ key, so the line ends with the highest MODSEQ
 * of the messages it reports (RFC 7162 §3.1.5).
 */
export function esearchResponse(tag: string, uid: boolean, found: Found[], options: ReturnOptions, modseq: boolean): string | undefined {
  if (options.save && !(options.min || options.max || options.all || options.count || options.partial || options.update)) return undefined
  const number = (f: Found) => (uid ? f.record.uid : f.seq)
  let line = `* ESEARCH (TAG "${tag}")${uid ? ' UID' : ''}`
  if (options.min && found.length) line += ` MIN ${number(found[0]!)}`
  if (options.max && found.length) line += ` MAX ${number(found[found.length - 1]!)}`
  if (options.all && found.length) line += ` ALL ${compactSet(found.map(number))}`
  if (options.count) line += ` COUNT ${found.length}`
  if (options.partial) {
    const page = partialOf(found, options.partial)
    line += ` PARTIAL (${options.partial.text} ${page.length ? compactSet(page.map(number)) : 'NIL'})`
  }
  if (modseq && found.length) {
    let highest = 0
    for (const f of named(found, options)) if (f.record.modseq > highest) highest = f.record.modseq
    line += ` MODSEQ ${highest}`
  }
  return line + '\r\n'
}
