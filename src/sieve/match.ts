/**
 * Comparators (RFC 4790 as Sieve uses them: i;octet, i;ascii-casemap, i;ascii-numeric), match
 * types (:is, :contains, :matches, :regex; :value and :count of RFC 5231) and the captures they
 * leave for match variables (RFC 5229 §3.2). Every comparison is charged to the run's budget:
 * `:matches` runs segment by segment without backtracking (each "*" takes the shortest text
 * that lets the next literal segment match, as the RFC's examples expect), so its cost is at
 * most value length × pattern length; `:regex` runs on RE2 (re2js), linear in the value.
 */
import {RE2JS} from 're2js'
import type {Budget, SieveLimits} from './limits.js'

export const COMPARATORS = new Set(['i;octet', 'i;ascii-casemap', 'i;ascii-numeric'])
export const RELATIONS = new Set(['gt', 'ge', 'lt', 'le', 'eq', 'ne'])
export const DATE_PARTS = new Set(['year', 'month', 'day', 'date', 'julian', 'hour', 'minute', 'second', 'time', 'iso8601', 'std11', 'zone', 'weekday'])

export type MatchType = {kind: 'is' | 'contains' | 'matches' | 'regex'} | {kind: 'value' | 'count'; relation: string}

export interface MatchResult {
  matched: boolean
  /** ${0} is the whole value, ${1}… what each wildcard or group matched */
  captures?: string[]
}

const LOWER_ASCII = /[a-z]/
const NON_ASCII = /[^\x00-\x7f]/

/** the last long string folded: a body is compared with key after key, and folding 1 MiB costs */
let lastFolded: {from: string; to: string} | undefined

function foldAscii(s: string): string {
  if (!LOWER_ASCII.test(s)) return s
  if (s.length < 256) return s.replace(/[a-z]+/g, (m) => m.toUpperCase())
  if (lastFolded?.from === s) return lastFolded.to
  let to: string
  if (!NON_ASCII.test(s)) to = s.toUpperCase()
  else {
    // String#toUpperCase would fold non-ASCII letters too (é → É), which i;ascii-casemap must not
    const units = new Uint16Array(s.length)
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      units[i] = c >= 0x61 && c <= 0x7a ? c - 0x20 : c
    }
    to = Buffer.from(units.buffer).toString('utf16le')
  }
  lastFolded = {from: s, to}
  return to
}

/** what the comparator compares: casemap folds ASCII letters only */
const fold = (s: string, comparator: string) => (comparator === 'i;ascii-casemap' ? foldAscii(s) : s)

/** i;ascii-numeric: the leading digits as a number; no leading digit is positive infinity */
function numericKey(s: string): string | undefined {
  const m = /^[0-9]+/.exec(s)
  return m ? m[0].replace(/^0+(?=.)/, '') : undefined
}

/** <0, 0, >0 as a is below, equal to or above b under the comparator */
export function compareValues(a: string, b: string, comparator: string): number {
  if (comparator === 'i;ascii-numeric') {
    const x = numericKey(a)
    const y = numericKey(b)
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1
    return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0
  }
  return Buffer.compare(Buffer.from(fold(a, comparator)), Buffer.from(fold(b, comparator)))
}

export function relationHolds(order: number, relation: string): boolean {
  switch (relation) {
    case 'gt':
      return order > 0
    case 'ge':
      return order >= 0
    case 'lt':
      return order < 0
    case 'le':
      return order <= 0
    case 'eq':
      return order === 0
    default:
      return order !== 0
  }
}

export function compileRegex(pattern: string, comparator: string, limits: Pick<SieveLimits, 'maxRegexInstructions'>): {regex?: RE2JS; error?: string} {
  try {
    const regex = RE2JS.compile(pattern, comparator === 'i;ascii-casemap' ? RE2JS.CASE_INSENSITIVE : 0)
    const size = regex.re2().numberOfInstructions()
    if (size > limits.maxRegexInstructions) return {error: `too large (${size} instructions compiled, at most ${limits.maxRegexInstructions})`}
    return {regex}
  } catch (err) {
    return {error: (err as Error).message.replace(/^error parsing regexp: /, '')}
  }
}

/**
 * Compiled once per run and dropped with it: an RE2 program keeps a lazily built DFA (up to
 * 8 MiB each in re2js) for as long as it lives, so nothing outlives the run.
 */
function cachedRegex(pattern: string, comparator: string, budget: Budget, limits: SieveLimits): RE2JS | undefined {
  const key = comparator + '\0' + pattern
  if (budget.regexes.has(key)) return budget.regexes.get(key)
  const {regex} = compileRegex(pattern, comparator, limits)
  budget.charge(pattern.length * 64) // compiling costs more than matching a character
  budget.regexes.set(key, regex)
  return regex
}

/** one value against one key (:is, :contains, :matches, :regex, :value; :count is counted by the caller) */
export function matchOne(value: string, key: string, type: MatchType, comparator: string, budget: Budget, limits: SieveLimits): MatchResult {
  budget.step()
  switch (type.kind) {
    case 'is':
      budget.charge(Math.min(value.length, key.length) + 1)
      return {matched: comparator === 'i;ascii-numeric' ? compareValues(value, key, comparator) === 0 : fold(value, comparator) === fold(key, comparator)}
    case 'contains':
      // native search is close to linear (V8 falls back to Boyer-Moore when a quick search does badly)
      budget.charge((value.length >> 2) + key.length + 1)
      return {matched: fold(value, comparator).includes(fold(key, comparator))}
    case 'matches':
      return glob(value, key, comparator, budget)
    case 'regex': {
      budget.charge(value.length * 16 + 1)
      const regex = cachedRegex(key, comparator, budget, limits)
      // a key built from variables at run time may not compile: it matches nothing
      if (!regex) return {matched: false}
      const m = regex.matcher(value)
      if (!m.find()) return {matched: false}
      const captures: string[] = []
      for (let g = 0; g <= Math.min(m.groupCount(), 9); g++) captures.push(m.group(g) ?? '')
      return {matched: true, captures}
    }
    case 'value':
      budget.charge(Math.min(value.length, key.length) + 1)
      return {matched: relationHolds(compareValues(value, key, comparator), type.relation)}
    default:
      return {matched: false}
  }
}

export type GlobItem = {kind: 'char'; c: string} | {kind: 'any'}
type Item = GlobItem

/** without surrogate pairs a string's units are its characters, and no array is needed */
const SURROGATE = /[\uD800-\uDFFF]/
const slice = (t: ArrayLike<string>, from: number, to: number) => (typeof t === 'string' ? t.slice(from, to) : Array.prototype.slice.call(t, from, to).join(''))

/** "*" splits the pattern into segments of literal characters and "?"; "\" quotes the next character */
function segmentsOf(pattern: ArrayLike<string>): Item[][] {
  const segments: Item[][] = [[]]
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') segments.push([])
    else if (c === '?') segments[segments.length - 1]!.push({kind: 'any'})
    else {
      if (c === '\\' && i + 1 < pattern.length) i++
      segments[segments.length - 1]!.push({kind: 'char', c: pattern[i]!})
    }
  }
  return segments
}

function glob(value: string, pattern: string, comparator: string, budget: Budget): MatchResult {
  // characters, not UTF-16 units: "?" matches one character (RFC 5228 §2.7.1)
  const chars = (t: string): ArrayLike<string> => (SURROGATE.test(t) ? Array.from(t) : t)
  const text = chars(value)
  const folded = chars(fold(value, comparator))
  const cacheKey = comparator + '\0' + pattern
  let segments = budget.globs.get(cacheKey)
  if (!segments) budget.globs.set(cacheKey, (segments = segmentsOf(chars(fold(pattern, comparator)))))
  const n = text.length
  const captures: string[] = [value]
  const segmentAt = (seg: Item[], at: number): boolean => {
    budget.charge(seg.length + 1)
    if (at + seg.length > n) return false
    for (let k = 0; k < seg.length; k++) {
      const item = seg[k]!
      if (item.kind === 'char' && item.c !== folded[at + k]) return false
    }
    return true
  }
  const questionCaptures = (seg: Item[], at: number) => {
    seg.forEach((item, k) => {
      if (item.kind === 'any') captures.push(text[at + k]!)
    })
  }
  const first = segments[0]!
  if (segments.length === 1) {
    if (first.length !== n || !segmentAt(first, 0)) return {matched: false}
    questionCaptures(first, 0)
    return {matched: true, captures}
  }
  const last = segments[segments.length - 1]!
  const lastStart = n - last.length
  if (lastStart < first.length || !segmentAt(first, 0)) return {matched: false}
  questionCaptures(first, 0)
  let pos = first.length
  for (let s = 1; s < segments.length - 1; s++) {
    const seg = segments[s]!
    let at = pos
    while (at + seg.length <= lastStart && !segmentAt(seg, at)) at++
    if (at + seg.length > lastStart) return {matched: false}
    captures.push(slice(text, pos, at))
    questionCaptures(seg, at)
    pos = at + seg.length
  }
  if (!segmentAt(last, lastStart)) return {matched: false}
  captures.push(slice(text, pos, lastStart))
  questionCaptures(last, lastStart)
  return {matched: true, captures}
}
