import {describe, expect, it} from 'vitest'
import {ParseError} from '../../src/imap/parser.js'
import {inRanges, isSequenceSet, mergeRanges, parseSequenceSet, resolveSet, type Range} from '../../src/imap/sequence.js'

/** does the set name this number, `*` being `largest` (how SEARCH tests a sequence-set key) */
const setContains = (ranges: Range[], value: number, largest: number) => inRanges(mergeRanges(ranges, largest), value)

const STAR = Infinity

/** the numbers (seq numbers or UIDs) a set names */
function pick(set: string, uids: number[], byUid: boolean): number[] {
  return resolveSet(parseSequenceSet(set), uids, byUid).map((i) => (byUid ? uids[i]! : i + 1))
}

describe('parseSequenceSet', () => {
  it.each<[string, Range[]]>([
    ['1', [[1, 1]]],
    ['1:4', [[1, 4]]],
    ['1:4,7,9:*', [[1, 4], [7, 7], [9, STAR]]],
    ['*', [[STAR, STAR]]],
    ['*:*', [[STAR, STAR]]],
    ['4:1', [[1, 4]]],
    ['*:3', [[3, STAR]]],
    ['3:*', [[3, STAR]]],
    ['2,2,1:3', [[2, 2], [2, 2], [1, 3]]],
    ['4294967295', [[4294967295, 4294967295]]],
  ])('%j', (text, ranges) => {
    expect(parseSequenceSet(text)).toEqual(ranges)
    expect(isSequenceSet(text)).toBe(true)
  })

  it.each(['', '0', '0:5', '5:0', '1,0', '1,', ',1', '1::2', '1:2:3', 'a', '1-3', ' 1', '1 ', '1, 2', '-1', '1.5', '**', '1:*:2', '(1)', '$'])('refuses %j', (text) => {
    expect(() => parseSequenceSet(text)).toThrow(ParseError)
  })

  it('isSequenceSet tells sets from other atoms (SEARCH keys)', () => {
    expect(isSequenceSet('ALL')).toBe(false)
    expect(isSequenceSet('1,')).toBe(false)
    expect(isSequenceSet('')).toBe(false)
    expect(isSequenceSet('1:*')).toBe(true)
  })
})

describe('resolveSet by sequence number', () => {
  const uids = [3, 5, 9, 10, 20] // 5 messages

  it('ranges, single numbers and *', () => {
    expect(pick('1', uids, false)).toEqual([1])
    expect(pick('2:4', uids, false)).toEqual([2, 3, 4])
    expect(pick('*', uids, false)).toEqual([5])
    expect(pick('1:*', uids, false)).toEqual([1, 2, 3, 4, 5])
    expect(pick('*:4', uids, false)).toEqual([4, 5])
    expect(pick('4:2', uids, false)).toEqual([2, 3, 4])
  })

  it('returns 0-based indexes into the UID list', () => {
    expect(resolveSet(parseSequenceSet('2,4'), uids, false)).toEqual([1, 3])
  })

  it('merges duplicates and overlaps into one ascending list', () => {
    expect(pick('4,1:2,2,3:5,1', uids, false)).toEqual([1, 2, 3, 4, 5])
    expect(pick('5,1,3', uids, false)).toEqual([1, 3, 5])
    expect(pick('2:3,3:4', uids, false)).toEqual([2, 3, 4])
    expect(pick('*,5,5:*', uids, false)).toEqual([5])
  })

  it('numbers beyond the last message are ignored; a range reaching past it is cut', () => {
    expect(pick('6', uids, false)).toEqual([])
    expect(pick('6:9', uids, false)).toEqual([])
    expect(pick('4:100', uids, false)).toEqual([4, 5])
    expect(pick('100,2', uids, false)).toEqual([2])
  })

  it('an empty folder resolves every set to nothing', () => {
    expect(pick('1:*', [], false)).toEqual([])
    expect(pick('*', [], false)).toEqual([])
    expect(pick('1:*', [], true)).toEqual([])
  })
})

describe('resolveSet by UID', () => {
  const uids = [3, 5, 9, 10, 20]

  it('picks the messages whose UIDs fall in the ranges', () => {
    expect(pick('5', uids, true)).toEqual([5])
    expect(pick('4:10', uids, true)).toEqual([5, 9, 10])
    expect(pick('10:4', uids, true)).toEqual([5, 9, 10])
    expect(pick('1:*', uids, true)).toEqual(uids)
    expect(pick('*', uids, true)).toEqual([20])
    expect(pick('11:*', uids, true)).toEqual([20])
  })

  it('UIDs that do not exist are ignored', () => {
    expect(pick('4', uids, true)).toEqual([])
    expect(pick('6:8', uids, true)).toEqual([])
    expect(pick('1,2,4,21,1000', uids, true)).toEqual([])
    expect(pick('21:30', uids, true)).toEqual([])
  })

  it('n:* with n above the highest UID still names the last message (RFC 3501 §6.4.8)', () => {
    expect(pick('21:*', uids, true)).toEqual([20])
    expect(pick('1000:*', uids, true)).toEqual([20])
    expect(pick('*:1000', uids, true)).toEqual([20])
    expect(pick('1000:*', [7], true)).toEqual([7])
  })

  it('merges duplicates and overlaps', () => {
    expect(pick('9,3:9,5,*,20,1:4', uids, true)).toEqual([3, 5, 9, 20])
    expect(pick('10:*,1:*', uids, true)).toEqual(uids)
  })
})

describe('setContains (SEARCH keys)', () => {
  it('names the numbers of its ranges; * is the largest number in use', () => {
    const set = parseSequenceSet('1:3,7,10:*')
    const hits = Array.from({length: 15}, (_, i) => i + 1).filter((n) => setContains(set, n, 12))
    expect(hits).toEqual([1, 2, 3, 7, 10, 11, 12])
  })

  it('n:* with n above the largest number means largest:n', () => {
    const set = parseSequenceSet('20:*')
    expect(setContains(set, 12, 12)).toBe(true)
    expect(setContains(set, 15, 12)).toBe(true)
    expect(setContains(set, 11, 12)).toBe(false)
  })

  it('a lone * is the largest number', () => {
    const set = parseSequenceSet('*')
    expect(setContains(set, 12, 12)).toBe(true)
    expect(setContains(set, 11, 12)).toBe(false)
  })
})

describe('resolveSet over a big folder', () => {
  // 100,000 messages with UIDs 2, 4, 6, … (a folder after many expunges)
  const n = 100_000
  const uids = Array.from({length: n}, (_, i) => 2 * (i + 1))

  it('1:* by sequence number and by UID', () => {
    const bySeq = resolveSet(parseSequenceSet('1:*'), uids, false)
    expect(bySeq).toHaveLength(n)
    expect(bySeq[0]).toBe(0)
    expect(bySeq[n - 1]).toBe(n - 1)
    const byUid = resolveSet(parseSequenceSet('1:*'), uids, true)
    expect(byUid).toEqual(bySeq)
  })

  it('one range, small then large then small again: each answer is its own array, exactly the range', () => {
    expect(resolveSet(parseSequenceSet('2:4'), uids.slice(0, 10), false)).toEqual([1, 2, 3])
    const all = resolveSet(parseSequenceSet('1:*'), uids, false)
    expect(all).toEqual(Array.from({length: n}, (_, i) => i))
    all[5] = -1 // a caller's changes stay in its copy
    expect(resolveSet(parseSequenceSet('5:7'), uids, false)).toEqual([4, 5, 6])
    expect(resolveSet(parseSequenceSet('99999:*'), uids, false)).toEqual([99998, 99999])
  })

  it('ranges in the middle by UID', () => {
    const picked = resolveSet(parseSequenceSet('100001:100010,3,199999:*'), uids, true).map((i) => uids[i])
    expect(picked).toEqual([100002, 100004, 100006, 100008, 100010, 200000])
  })

  it('many single numbers and overlapping ranges, in random order', () => {
    const numbers: string[] = []
    let seed = 7
    const rand = () => (seed = (seed * 48271) % 2147483647) % n
    const expected = new Set<number>()
    for (let i = 0; i < 5000; i++) {
      const a = rand() + 1
      if (i % 2) {
        const b = Math.min(n, a + (rand() % 50))
        numbers.push(`${b}:${a}`)
        for (let k = a; k <= b; k++) expected.add(k - 1)
      } else {
        numbers.push(String(a))
        expected.add(a - 1)
      }
    }
    const got = resolveSet(parseSequenceSet(numbers.join(',')), uids, false)
    expect(got).toEqual([...expected].sort((x, y) => x - y))
  })
})
