import {describe, expect, it} from 'vitest'
import {DEFAULT_THROTTLE, LoginThrottle, type ThrottleConfig} from '../../src/auth/throttle.js'

const config: ThrottleConfig = {windowMs: 60_000, maxFailuresPerAddress: 3, maxFailuresPerUser: 5}

function clocked(cfg: ThrottleConfig = config) {
  const clock = {t: 1_000_000}
  const throttle = new LoginThrottle(cfg, () => clock.t)
  return {clock, throttle}
}

describe('LoginThrottle', () => {
  it('blocks an address once it reaches maxFailuresPerAddress, not before', () => {
    const {throttle} = clocked()
    throttle.recordFailure('10.0.0.1', 'a@x.test')
    throttle.recordFailure('10.0.0.1', 'b@x.test')
    expect(throttle.isBlocked('10.0.0.1', 'c@x.test')).toBe(false)
    throttle.recordFailure('10.0.0.1', 'd@x.test')
    expect(throttle.isBlocked('10.0.0.1', 'c@x.test')).toBe(true)
    // another address trying another user is unaffected
    expect(throttle.isBlocked('10.0.0.2', 'c@x.test')).toBe(false)
  })

  it('blocks a user across addresses once it reaches maxFailuresPerUser', () => {
    const {throttle} = clocked()
    for (let i = 1; i <= 4; i++) throttle.recordFailure(`10.1.0.${i}`, 'victim@x.test')
    expect(throttle.isBlocked('10.1.0.99', 'victim@x.test')).toBe(false)
    throttle.recordFailure('10.1.0.5', 'victim@x.test')
    expect(throttle.isBlocked('10.1.0.99', 'victim@x.test')).toBe(true)
    // the fresh address may still try other users
    expect(throttle.isBlocked('10.1.0.99', 'other@x.test')).toBe(false)
  })

  it('failures expire after the window (an entry exactly windowMs old no longer counts)', () => {
    const {clock, throttle} = clocked()
    const start = clock.t
    for (let i = 0; i < 3; i++) throttle.recordFailure('10.2.0.1', 'u@x.test')
    clock.t = start + 59_999
    expect(throttle.isBlocked('10.2.0.1', 'u@x.test')).toBe(true)
    clock.t = start + 60_000
    expect(throttle.isBlocked('10.2.0.1', 'u@x.test')).toBe(false)
  })

  it('the window slides: only the failures within the last windowMs count', () => {
    const {clock, throttle} = clocked()
    const start = clock.t
    throttle.recordFailure('10.3.0.1', 'u@x.test') // t = 0
    clock.t = start + 30_000
    throttle.recordFailure('10.3.0.1', 'u@x.test') // t = 30 s
    clock.t = start + 40_000
    throttle.recordFailure('10.3.0.1', 'u@x.test') // t = 40 s
    expect(throttle.isBlocked('10.3.0.1', 'u@x.test')).toBe(true)
    clock.t = start + 60_000 // the first one ages out
    expect(throttle.isBlocked('10.3.0.1', 'u@x.test')).toBe(false)
    throttle.recordFailure('10.3.0.1', 'u@x.test')
    expect(throttle.isBlocked('10.3.0.1', 'u@x.test')).toBe(true)
    clock.t = start + 90_000 // the 30 s one ages out
    expect(throttle.isBlocked('10.3.0.1', 'u@x.test')).toBe(false)
  })

  it('recordSuccess clears the address count but not the user count', () => {
    const {throttle} = clocked({windowMs: 60_000, maxFailuresPerAddress: 3, maxFailuresPerUser: 3})
    for (let i = 0; i < 3; i++) throttle.recordFailure('10.4.0.1', 'u@x.test')
    expect(throttle.isBlocked('10.4.0.1', 'someone@x.test')).toBe(true)
    throttle.recordSuccess('10.4.0.1')
    expect(throttle.isBlocked('10.4.0.1', 'someone@x.test')).toBe(false)
    expect(throttle.isBlocked('10.4.0.2', 'u@x.test')).toBe(true)
  })

  it('address and user keys live in separate namespaces', () => {
    const {throttle} = clocked()
    for (let i = 0; i < 3; i++) throttle.recordFailure('same', 'other')
    expect(throttle.isBlocked('same', 'x')).toBe(true)
    // "same" as a username and "other" as an address have no failures
    expect(throttle.isBlocked('other', 'same')).toBe(false)
  })

  it('bounds the number of tracked keys at 100 000, evicting the least recently failed first', () => {
    const {throttle} = clocked({windowMs: 60_000, maxFailuresPerAddress: 1, maxFailuresPerUser: 1})
    throttle.recordFailure('first', 'first@x.test')
    expect(throttle.isBlocked('first', 'z@x.test')).toBe(true)
    expect(throttle.isBlocked('z', 'first@x.test')).toBe(true)
    // each failure tracks two keys (address and user): 1 + 50 000 failures = 100 002 keys, two over the bound
    for (let i = 0; i < 50_000; i++) throttle.recordFailure(`a${i}`, `u${i}@x.test`)
    expect(throttle.isBlocked('first', 'z@x.test')).toBe(false) // evicted
    expect(throttle.isBlocked('z', 'first@x.test')).toBe(false) // evicted
    expect(throttle.isBlocked('a0', 'z@x.test')).toBe(true) // the next oldest is kept
    expect(throttle.isBlocked('z', 'u0@x.test')).toBe(true)
    expect(throttle.isBlocked('a49999', 'z@x.test')).toBe(true)
  })

  it('a key that fails again becomes the most recent and is not evicted first', () => {
    const {throttle} = clocked({windowMs: 60_000, maxFailuresPerAddress: 1, maxFailuresPerUser: 1_000_000})
    throttle.recordFailure('old', 'hot@x.test')
    throttle.recordFailure('older', 'cold@x.test')
    throttle.recordFailure('old', 'hot@x.test') // refreshes addr:old and user:hot
    // 3 distinct keys are tracked (old, hot, older, cold = 4); 49 999 more pairs → 100 002 keys: 2 evicted
    for (let i = 0; i < 49_999; i++) throttle.recordFailure(`b${i}`, `w${i}@x.test`)
    expect(throttle.isBlocked('older', 'z@x.test')).toBe(false) // least recently failed: evicted
    expect(throttle.isBlocked('old', 'z@x.test')).toBe(true) // refreshed: kept
  })

  it('defaults: 15-minute window, 10 per address, 30 per user', () => {
    expect(DEFAULT_THROTTLE).toEqual({windowMs: 900_000, maxFailuresPerAddress: 10, maxFailuresPerUser: 30})
    const throttle = new LoginThrottle()
    for (let i = 0; i < 9; i++) throttle.recordFailure('10.9.0.1', `u${i}@x.test`)
    expect(throttle.isBlocked('10.9.0.1', 'n@x.test')).toBe(false)
    throttle.recordFailure('10.9.0.1', 'u9@x.test')
    expect(throttle.isBlocked('10.9.0.1', 'n@x.test')).toBe(true)
  })
})
