/**
 * The ADDTO / REMOVEFROM pairs that carry a live SORT result from one state to the next
 * (CONTEXT=SORT, RFC 5267 §4.3.3-4.3.4). Each pair is `position set`: the set, in sort order,
 * is removed from (inserted at) that 1-based position, and the client applies the pairs in the
 * order they come. Removals are listed first, front to back, so each position counts only the
 * entries that stay; then insertions front to back, each at its position in the new list.
 * A run of neighbours in the list travels as one pair, and within it ascending neighbours as
 * `a:b`: RFC 5267's preferred `ADDTO (1 2731:2733)`.
 */
import {compactSet} from '../format.js'
import {lowerBound} from '../sequence.js'

export interface OrderedUpdates {
  /** `[position, UIDs in sort order]`, to apply in turn */
  removed: [number, number[]][]
  added: [number, number[]][]
}

/** runs of consecutive flagged entries of `list`, each with its 1-based position after the earlier runs are applied */
function runs(list: readonly number[], flagged: Uint8Array, positionOf: (index: number, picked: number) => number): [number, number[]][] {
  const out: [number, number[]][] = []
  let picked = 0
  let open: number[] | undefined
  for (let i = 0; i < list.length; i++) {
    if (!flagged[i]) {
      open = undefined
      continue
    }
    if (!open) out.push([positionOf(i, picked), (open = [])])
    open.push(list[i]!)
    picked++
  }
  return out
}

/**
 * 1 for each entry of `list` that `other` lacks. Membership by binary search in a sorted typed
 * copy: on a 100,000-message result that is a few milliseconds, where Sets of numbers take
 * a hundred.
 */
function missingFrom(list: readonly number[], other: readonly number[]): Uint8Array {
  const sorted = Uint32Array.from(other).sort()
  const out = new Uint8Array(list.length)
  for (let i = 0; i < list.length; i++) if (sorted[lowerBound(sorted, list[i]!)] !== list[i]) out[i] = 1
  return out
}

/**
 * From `before` to `after` (UIDs in sort order). A message's sort keys never change (messages
 * are immutable, RFC 3501 §2.3), so the entries both lists share keep their relative order; if
 * they ever did not, the whole list is replaced, which is still a correct update.
 */
export function orderedUpdates(before: readonly number[], after: readonly number[]): OrderedUpdates {
  // most changes (a flag that does not touch the search) leave the result as it was
  if (before.length === after.length) {
    let i = 0
    while (i < before.length && before[i] === after[i]) i++
    if (i === before.length) return {removed: [], added: []}
  }
  const gone = missingFrom(before, after)
  const added = missingFrom(after, before)
  // the shared entries, walked in both lists at once, must come in the same order
  for (let i = 0, j = 0; i < before.length; i++) {
    if (gone[i]) continue
    while (added[j]) j++
    if (after[j++] !== before[i]) return {removed: before.length ? [[1, [...before]]] : [], added: after.length ? [[1, [...after]]] : []}
  }
  return {
    // removing earlier runs shifts later ones forward: the position is the entries kept before it, plus one
    removed: runs(before, gone, (i, picked) => i - picked + 1),
    // inserting front to back: each run lands where it stands in the new list
    added: runs(after, added, (i) => i + 1),
  }
}

/** ` REMOVEFROM (p set …) ADDTO (p set …)` with UIDs or, through `number`, sequence numbers; '' when nothing changed */
export function formatOrderedUpdates(updates: OrderedUpdates, number: (uid: number) => number): string {
  const pairs = (list: [number, number[]][]) => list.map(([position, uids]) => `${position} ${compactSet(uids.map(number))}`).join(' ')
  let items = ''
  if (updates.removed.length) items += ` REMOVEFROM (${pairs(updates.removed)})`
  if (updates.added.length) items += ` ADDTO (${pairs(updates.added)})`
  return items
}
