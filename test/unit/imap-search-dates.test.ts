/** The day a Date header names for SENTBEFORE/SENTON/SENTSINCE: as written, whatever the zone. */
import {describe, expect, it} from 'vitest'
import {sentDay} from '../../src/imap/search/matching.js'

describe('sentDay', () => {
  it('takes the calendar day as written, not converted to UTC', () => {
    expect(sentDay('Mon, 1 Jan 2024 23:30:00 -0500')).toBe(Date.UTC(2024, 0, 1))
    expect(sentDay('Tue, 2 Jan 2024 00:30:00 +0900')).toBe(Date.UTC(2024, 0, 2))
    expect(sentDay('29 Feb 2028 23:59:59 +1400')).toBe(Date.UTC(2028, 1, 29))
  })

  it('reads the obsolete forms of RFC 5322 §4.3: two- and three-digit years, comments, long month names', () => {
    expect(sentDay('05 Jan 99 10:00:00 GMT')).toBe(Date.UTC(1999, 0, 5))
    expect(sentDay('5 Jan 24 10:00 GMT')).toBe(Date.UTC(2024, 0, 5))
    expect(sentDay('5 Jan 124 10:00 GMT')).toBe(Date.UTC(2024, 0, 5))
    expect(sentDay('(sent) Fri , 7 (day) March 2025 08:00 +0000')).toBe(Date.UTC(2025, 2, 7))
  })

  it('is undefined for what is not a date', () => {
    expect(sentDay(undefined)).toBeUndefined()
    expect(sentDay('')).toBeUndefined()
    expect(sentDay('yesterday')).toBeUndefined()
    expect(sentDay('1 Foo 2024')).toBeUndefined()
  })
})
