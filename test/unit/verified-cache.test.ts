import {describe, expect, it} from 'vitest'
import {VerifiedCache} from '../../src/auth/verified-cache.js'

describe('VerifiedCache', () => {
  it('remembers a verified (hash, password) pair until it expires', () => {
    let now = 1_000
    const cache = new VerifiedCache(500, 100, () => now)
    expect(cache.has('$hash1', 'pw')).toBe(false)
    cache.add('$hash1', 'pw')
    expect(cache.has('$hash1', 'pw')).toBe(true)
    now += 499
    expect(cache.has('$hash1', 'pw')).toBe(true)
    now += 1
    expect(cache.has('$hash1', 'pw')).toBe(false)
  })

  it('never matches another password or another hash (a password change)', () => {
    const cache = new VerifiedCache(60_000)
    cache.add('$hash1', 'pw')
    expect(cache.has('$hash1', 'pw2')).toBe(false)
    expect(cache.has('$hash1', 'PW')).toBe(false)
    expect(cache.has('$hash2', 'pw')).toBe(false)
    // the separator keeps (hash, password) pairs apart
    cache.add('ab', 'c')
    expect(cache.has('a', 'bc')).toBe(false)
  })

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new VerifiedCache(60_000, 3)
    for (const pw of ['a', 'b', 'c', 'd']) cache.add('$h', pw)
    expect(cache.has('$h', 'a')).toBe(false)
    expect(['b', 'c', 'd'].every((pw) => cache.has('$h', pw))).toBe(true)
  })

  it('a ttl of 0 turns it off', () => {
    const cache = new VerifiedCache(0)
    cache.add('$h', 'pw')
    expect(cache.has('$h', 'pw')).toBe(false)
  })
})
