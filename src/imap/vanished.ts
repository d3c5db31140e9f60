/**
 * QRESYNC's `VANISHED (EARLIER)` (RFC 7162 §3.2.5.1, §3.2.6): the UIDs a client may still hold
 * that are no longer in the folder. Rather than keeping expunge history, the answer is every UID
 * below UIDNEXT that is not in the folder now — the RFC allows a server to include UIDs that
 * were expunged long ago or never used, and clients ignore those — narrowed to the UIDs the
 * client says it knows, when it says so. The result is a list of ranges, as compact as the gaps.
 */
import type {MessageRecord} from '../store/records.js'
import {mergeRanges, type Range} from './sequence.js'

/** ranges of UIDs in [1, uidNext) that `records` (ascending) lacks */
export function missingUids(records: readonly MessageRecord[], uidNext: number): [number, number][] {
  const gaps: [number, number][] = []
  let next = 1
  for (const {uid} of records) {
    if (uid > next) gaps.push([next, uid - 1])
    next = uid + 1
  }
  if (next < uidNext) gaps.push([next, uidNext - 1])
  return gaps
}

/** the part of `gaps` inside `within` (a client's sequence set of UIDs; `*` is the last UID) */
export function intersect(gaps: [number, number][], within: Range[], largest: number): [number, number][] {
  // both lists are sorted and their ranges apart, so the pieces come out sorted and apart too
  const bounds = mergeRanges(within, largest)
  const out: [number, number][] = []
  for (const [ga, gb] of gaps) {
    for (const [wa, wb] of bounds) {
      const a = Math.max(ga, wa)
      const b = Math.min(gb, wb)
      if (a <= b) out.push([a, b])
    }
  }
  return out
}
