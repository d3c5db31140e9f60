/**
 * Sequence sets (RFC 3501 §9 `sequence-set`): `1:4,7,9:*`, in message sequence numbers or UIDs.
 * `*` is the largest number in use; `n:m` is the same as `m:n`. Resolution works on ranges with
 * binary search, so `1:*` over 100,000 messages costs one pass, not a set of 100,000 numbers.
 */
import {ParseError} from './parser.js'

/** a range; `Infinity` stands for `*` */
export type Range = [number, number]

const STAR = Infinity

export function parseSequenceSet(text: string): Range[] {
  if (text === '$') throw new ParseError('the saved search result ($) is not allowed here')
  const ranges: Range[] = []
  for (const item of text.split(',')) {
    const m = /^(\d+|\*)(?::(\d+|\*))?$/.exec(item)
    if (!m) throw new ParseError(`bad sequence set ${JSON.stringify(text.slice(0, 100))}`)
    const a = m[1] === '*' ? STAR : Number(m[1])
    const b = m[2] === undefined ? a : m[2] === '*' ? STAR : Number(m[2])
    if (a === 0 || b === 0) throw new ParseError('0 is not a valid message number')
    ranges.push(a <= b ? [a, b] : [b, a])
  }
  return ranges
}

/**
 * A command's sequence set where `$` may stand for the saved search result (RFC 5182 §2.2):
 * `saved` is that result as ascending UIDs, whatever the command's form; a saved message that
 * is no longer in `uids` (expunged and reported) is left out. The ranges are UIDs for `$`.
 */
export function resolveCommandSet(text: string, uids: readonly number[], byUid: boolean, saved: readonly number[]): {ranges: Range[]; indexes: number[]} {
  if (text !== '$') {
    const ranges = parseSequenceSet(text)
    return {ranges, indexes: resolveSet(ranges, uids, byUid)}
  }
  const indexes: number[] = []
  const ranges: Range[] = []
  for (const uid of saved) {
    const i = lowerBound(uids, uid)
    if (uids[i] === uid) indexes.push(i)
    const last = ranges[ranges.length - 1]
    if (last && last[1] + 1 === uid) last[1] = uid
    else ranges.push([uid, uid])
  }
  return {ranges, indexes}
}

export function isSequenceSet(text: string): boolean {
  return /^(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*$/.test(text)
}

/** first index in ascending `values` with value >= x */
export function lowerBound(values: ArrayLike<number>, x: number): number {
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (values[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * The 0-based indexes into the session's ascending UID list that a set names, ascending and
 * without duplicates. `byUid`: the numbers are UIDs (a `*` is the highest UID, and per RFC 3501
 * `n:*` always includes the last message even when n is above it).
 */
export function resolveSet(ranges: Range[], uids: readonly number[], byUid: boolean): number[] {
  const n = uids.length
  if (n === 0) return []
  const picked: [number, number][] = []
  for (const [a, b] of ranges) {
    let lo: number
    let hi: number
    if (byUid) {
      const top = uids[n - 1]!
      const from = a === STAR ? top : a
      const to = b === STAR ? top : b
      const [x, y] = from <= to ? [from, to] : [to, from]
      lo = lowerBound(uids, x)
      hi = lowerBound(uids, y + 1) - 1
      if (b === STAR && lo > hi) [lo, hi] = [n - 1, n - 1]
    } else {
      const from = a === STAR ? n : a
      const to = b === STAR ? n : b
      const [x, y] = from <= to ? [from, to] : [to, from]
      lo = x - 1
      hi = Math.min(y, n) - 1
    }
    if (lo <= hi && lo < n) picked.push([lo, hi])
  }
  if (picked.length === 1) {
    const [lo, hi] = picked[0]!
    return consecutive(lo, hi)
  }
  picked.sort((p, q) => p[0] - q[0])
  const out: number[] = []
  let last = -1
  for (const [lo, hi] of picked) {
    for (let i = Math.max(lo, last + 1); i <= hi; i++) out.push(i)
    last = Math.max(last, hi)
  }
  return out
}

/** 0, 1, 2 … as far as a folder has needed: `consecutive` copies its slices */
let counting: number[] = []

/**
 * `lo` … `hi`, a new array. One range is the usual set (`1:*`, `n:m`), and the array is built
 * before a FETCH sends its first byte: filled by a loop of the command path (run once per
 * command, so never optimized), 2,000 indexes took 0.07-0.45 ms right after a large FETCH had
 * been sent (`BENCH_IMAP_ONLY=bodies npm run bench -- imap`, server-side marks); a slice of a
 * kept array is one copy in the engine's own code. The kept array grows to the largest folder
 * seen (8 bytes a message: 0.8 MB for 100,000).
 */
function consecutive(lo: number, hi: number): number[] {
  if (counting.length <= hi) {
    const grown = new Array<number>(Math.max(hi + 1, counting.length * 2))
    for (let i = 0; i < grown.length; i++) grown[i] = i
    counting = grown
  }
  return counting.slice(lo, hi + 1)
}

/** the set as sorted, non-overlapping ranges, `*` being the largest number in use */
export function mergeRanges(ranges: Range[], largest: number): [number, number][] {
  const sorted = ranges
    .map(([a, b]): [number, number] => {
      const x = a === STAR ? largest : a
      const y = b === STAR ? largest : b
      return x <= y ? [x, y] : [y, x]
    })
    .sort((p, q) => p[0] - q[0])
  const merged: [number, number][] = []
  for (const r of sorted) {
    const last = merged[merged.length - 1]
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1])
    else merged.push(r)
  }
  return merged
}

/** is `value` in ranges from `mergeRanges` */
export function inRanges(merged: [number, number][], value: number): boolean {
  let lo = 0
  let hi = merged.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const [a, b] = merged[mid]!
    if (value < a) hi = mid - 1
    else if (value > b) lo = mid + 1
    else return true
  }
  return false
}
