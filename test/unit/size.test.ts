import {describe, expect, it} from 'vitest'
import {MailboxError} from '../../src/errors.js'
import {formatSize, parseSize} from '../../src/size.js'

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['100', 100],
    ['100B', 100],
    ['100b', 100],
    ['1k', 1024],
    ['1K', 1024],
    ['1KB', 1024],
    ['1KiB', 1024],
    ['1.5k', 1536],
    ['512M', 512 * 1024 ** 2],
    ['25MiB', 25 * 1024 ** 2],
    ['25 MB', 25 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['2g', 2 * 1024 ** 3],
    ['0.5G', 512 * 1024 ** 2],
    ['1T', 1024 ** 4],
    ['  3M  ', 3 * 1024 ** 2],
    ['unlimited', 0],
    ['UNLIMITED', 0],
    ['none', 0],
    [' none ', 0],
  ])('%j → %d', (input, expected) => {
    expect(parseSize(input)).toBe(expected)
  })

  it('rounds fractional bytes to an integer', () => {
    expect(parseSize('0.1k')).toBe(102) // 102.4
    expect(Number.isInteger(parseSize('1.3M'))).toBe(true)
  })

  it.each(['', ' ', 'abc', '-1', '-5M', '5X', '5 MBs', '1e3', '1,5M', 'M', '.5M', '5..5M', '5PB', 'unlimited!'])(
    'refuses %j with code invalid',
    (input) => {
      let err: unknown
      try {
        parseSize(input)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(MailboxError)
      expect((err as MailboxError).code).toBe('invalid')
    },
  )

  it('refuses a size beyond the safe integer range', () => {
    expect(() => parseSize('99999999T')).toThrowError(/too large/)
    expect(() => parseSize('99999999T')).toThrowError(MailboxError)
  })
})

describe('formatSize', () => {
  it.each([
    [0, '0B'],
    [1, '1B'],
    [1023, '1023B'],
    [1024, '1K'],
    [1536, '1.5K'],
    [2047, '2K'],
    [10 * 1024, '10K'],
    [10.4 * 1024, '10K'],
    [100 * 1024, '100K'],
    [1024 ** 2, '1M'],
    [512 * 1024 ** 2, '512M'],
    [1.5 * 1024 ** 3, '1.5G'],
    [2 * 1024 ** 3, '2G'],
    [1024 ** 4, '1T'],
    [3 * 1024 ** 5, '3072T'], // T is the largest unit
  ])('%d → %s', (bytes, expected) => {
    expect(formatSize(bytes)).toBe(expected)
  })

  it('round-trips through parseSize for whole multiples', () => {
    for (const s of ['1K', '7M', '2G', '1T', '999B']) {
      const bytes = parseSize(s)
      expect(parseSize(formatSize(bytes))).toBe(bytes)
    }
  })
})

describe('formatSize promotes a rounded 1024 to the next unit', () => {
  it('shows 1048575 bytes as 1M, not 1024K', async () => {
    const {formatSize} = await import('../../src/size.js')
    expect(formatSize(1048575)).toBe('1M')
    expect(formatSize(1024 * 1024 * 1024 - 1)).toBe('1G')
  })
})
