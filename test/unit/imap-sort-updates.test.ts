/**
 * CONTEXT=SORT's ADDTO / REMOVEFROM pairs (RFC 5267 §4.3.3-4.3.4): a client that applies them
 * in order, as the RFC tells it to, ends with the new sorted result.
 */
import {describe, expect, it} from 'vitest'
import {formatOrderedUpdates, orderedUpdates} from '../../src/imap/sort/updates.js'

/** a client's list after the pairs: REMOVEFROM takes the set out starting at the position, ADDTO puts it in there */
function apply(list: number[], text: string): number[] {
  const out = [...list]
  for (const [, kind, body] of text.matchAll(/(REMOVEFROM|ADDTO) \(([^)]*)\)/g)) {
    const words = body!.split(' ')
    for (let i = 0; i < words.length; i += 2) {
      const position = Number(words[i])
      const uids = words[i + 1]!.split(',').flatMap((part) => {
        const [a, b = a] = part.split(':').map(Number) as [number, number?]
        return Array.from({length: b! - a + 1}, (_, k) => a + k)
      })
      if (kind === 'ADDTO') out.splice(position - 1, 0, ...uids)
      else {
        expect(out.slice(position - 1, position - 1 + uids.length)).toEqual(uids)
        out.splice(position - 1, uids.length)
      }
    }
  }
  return out
}

const updates = (before: number[], after: number[]) => formatOrderedUpdates(orderedUpdates(before, after), (u) => u)

describe('orderedUpdates', () => {
  it("RFC 5267 §4.3.3: 2731:2733 arriving before 2734:2735 is the preferred ADDTO (1 2731:2733)", () => {
    expect(updates([2734, 2735], [2731, 2732, 2733, 2734, 2735])).toBe(' ADDTO (1 2731:2733)')
    // the RFC's other two forms mean the same to a client
    expect(apply([2734, 2735], 'ADDTO (1 2733 1 2732 1 2731)')).toEqual([2731, 2732, 2733, 2734, 2735])
    expect(apply([2734, 2735], 'ADDTO (1 2733) ADDTO (1 2731:2732)')).toEqual([2731, 2732, 2733, 2734, 2735])
  })

  it('positions count what stays before a removal and where an insertion ends up; descending neighbours are not a range', () => {
    expect(updates([3, 4, 5, 1, 2], [3, 5, 2])).toBe(' REMOVEFROM (2 4 3 1)')
    expect(updates([3, 5, 2], [3, 5, 1, 2])).toBe(' ADDTO (3 1)')
    expect(updates([2, 1], [2, 1, 5, 4, 3])).toBe(' ADDTO (3 5,4,3)')
    expect(updates([1, 2], [2, 3])).toBe(' REMOVEFROM (1 1) ADDTO (2 3)')
    expect(updates([1, 2], [1, 2])).toBe('')
  })

  it('a changed order of the entries that stay replaces the whole list', () => {
    expect(updates([1, 2, 3], [3, 1, 2])).toBe(' REMOVEFROM (1 1:3) ADDTO (1 3,1:2)')
  })

  it('applied in order, the pairs always give the new list (seeded random lists)', () => {
    let seed = 17
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    for (let round = 0; round < 500; round++) {
      const all = Array.from({length: 1 + random(30)}, (_, i) => i + 1)
      // one fixed order of every message (the sort), then two subsets of it
      for (let i = all.length - 1; i > 0; i--) {
        const j = random(i + 1)
        ;[all[i], all[j]] = [all[j]!, all[i]!]
      }
      const before = all.filter(() => random(3) > 0)
      const after = all.filter(() => random(3) > 0)
      expect(apply(before, updates(before, after))).toEqual(after)
    }
  })
})
