import {describe, expect, it} from 'vitest'
import type {MessageRecord} from '../../src/store/records.js'
import {parseSequenceSet} from '../../src/imap/sequence.js'
import {formatRanges} from '../../src/imap/format.js'
import {intersect, missingUids} from '../../src/imap/vanished.js'

const records = (...uids: number[]) => uids.map((uid): MessageRecord => ({uid, blobId: 'b', flags: [], internalDate: 0, size: 1, modseq: 1}))

describe('VANISHED (EARLIER) ranges', () => {
  it('missingUids: every UID below UIDNEXT not in the folder', () => {
    expect(missingUids(records(), 1)).toEqual([])
    expect(missingUids(records(), 5)).toEqual([[1, 4]])
    expect(missingUids(records(1, 2, 3), 4)).toEqual([])
    expect(missingUids(records(2, 5, 6, 9), 12)).toEqual([[1, 1], [3, 4], [7, 8], [10, 11]])
  })

  it('intersect: narrowed to the UIDs the client knows, * being the last UID, overlaps merged', () => {
    const gaps = missingUids(records(2, 5, 6, 9), 12)
    expect(intersect(gaps, parseSequenceSet('4:10'), 11)).toEqual([[4, 4], [7, 8], [10, 10]])
    expect(intersect(gaps, parseSequenceSet('8:*'), 11)).toEqual([[8, 8], [10, 11]])
    expect(intersect(gaps, parseSequenceSet('1:4,3:8'), 11)).toEqual([[1, 1], [3, 4], [7, 8]])
    expect(intersect(gaps, parseSequenceSet('5:6'), 11)).toEqual([])
  })

  it('formatRanges writes a sequence set', () => {
    expect(formatRanges([[1, 1], [3, 4], [7, 8]])).toBe('1,3:4,7:8')
    expect(formatRanges([])).toBe('')
  })
})
