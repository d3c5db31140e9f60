import {describe, expect, it} from 'vitest'
import {networkOf} from '../../src/auth/network.js'
import {DEFAULT_THROTTLE, LoginThrottle, MAX_KEYS, type Admission, type ThrottleConfig} from '../../src/auth/throttle.js'

const config: ThrottleConfig = {
  windowMs: 60_000,
  maxFailuresPerAddress: 4,
  maxFailuresPerUserAddress: 2,
  maxFailuresPerUser: 5,
  failureDelayMs: 100,
  maxFailureDelayMs: 1000,
}

function clocked(over: Partial<ThrottleConfig> = {}) {
  const clock = {t: 1_000_000}
  const throttle = new LoginThrottle({...config, ...over}, () => clock.t)
  /** one failed attempt; returns the delay before its answer, or the refusal */
  const fail = (address: string, user: string, familiar = false): number | Admission => {
    const a = throttle.admit(address, user, familiar)
    return a.admitted ? throttle.failed(a.attempt).delayMs : a
  }
  const refusedBy = (address: string, user: string, familiar = false) => throttle.refusal(address, user, familiar)?.limit
  return {clock, throttle, fail, refusedBy}
}

describe('LoginThrottle: per source', () => {
  it('refuses a source once it reaches maxFailuresPerAddress (any users), not before; other sources go on', () => {
    const {fail, refusedBy} = clocked()
    for (const user of ['a', 'b', 'c']) fail('10.0.0.1', `${user}@x.test`)
    expect(refusedBy('10.0.0.1', 'd@x.test')).toBeUndefined()
    fail('10.0.0.1', 'd@x.test')
    expect(refusedBy('10.0.0.1', 'e@x.test')).toBe('address')
    expect(refusedBy('10.0.0.2', 'e@x.test')).toBeUndefined()
  })

  it('each failure from a source is answered later: the delay doubles up to maxFailureDelayMs', () => {
    const {fail} = clocked({maxFailuresPerAddress: 100, maxFailuresPerUserAddress: 100, maxFailuresPerUser: 100})
    const delays = Array.from({length: 7}, () => fail('10.0.1.1', 'u@x.test'))
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000])
    // another source starts at the bottom
    expect(fail('10.0.1.2', 'u@x.test')).toBe(100)
  })

  it('a refusal is answered after the delay its source has earned (at least failureDelayMs)', () => {
    const {fail, throttle} = clocked()
    for (let i = 0; i < 4; i++) fail('10.0.2.1', `u${i}@x.test`)
    expect(throttle.admit('10.0.2.1', 'v@x.test', false)).toEqual({admitted: false, limit: 'address', failures: 4, delayMs: 800})
  })

  it('parallel attempts count from the moment they start: they cannot all slip in under the limit', () => {
    const {throttle} = clocked()
    const inFlight = Array.from({length: 4}, (_, i) => throttle.admit('10.0.3.1', `u${i}@x.test`, false))
    expect(inFlight.every((a) => a.admitted)).toBe(true)
    expect(throttle.admit('10.0.3.1', 'u9@x.test', false)).toMatchObject({admitted: false, limit: 'address'})
  })

  it('IPv6 sources are counted by /64: rotating addresses within it does not help', () => {
    const {fail, refusedBy} = clocked()
    for (let i = 1; i <= 4; i++) fail(`2001:db8:1:2::${i}`, `u${i}@x.test`)
    expect(refusedBy('2001:db8:1:2:ffff::9', 'z@x.test')).toBe('address')
    expect(refusedBy('2001:db8:1:3::1', 'z@x.test')).toBeUndefined()
  })
})

describe('LoginThrottle: per (user, source)', () => {
  it('a source may not try one user past maxFailuresPerUserAddress, but may try others', () => {
    const {fail, refusedBy} = clocked()
    fail('10.1.0.1', 'victim@x.test')
    expect(refusedBy('10.1.0.1', 'victim@x.test')).toBeUndefined()
    fail('10.1.0.1', 'victim@x.test')
    expect(refusedBy('10.1.0.1', 'victim@x.test')).toBe('user-address')
    expect(refusedBy('10.1.0.1', 'other@x.test')).toBeUndefined()
    expect(refusedBy('10.1.0.2', 'victim@x.test')).toBeUndefined()
  })
})

describe('LoginThrottle: per user, smart lockout', () => {
  it('failures from many sources refuse that user to unfamiliar sources only; familiar ones are never held back', () => {
    const {fail, refusedBy} = clocked()
    for (let i = 1; i <= 5; i++) fail(`10.2.0.${i}`, 'alice@x.test')
    expect(refusedBy('10.2.0.99', 'alice@x.test')).toBe('user')
    expect(refusedBy('10.2.0.99', 'alice@x.test', true)).toBeUndefined()
    expect(refusedBy('10.2.0.99', 'bob@x.test')).toBeUndefined()
  })

  it('failures from a familiar source do not count toward the per-user limit (the pair and source limits still hold)', () => {
    const {fail, refusedBy} = clocked({maxFailuresPerUserAddress: 100, maxFailuresPerAddress: 100})
    for (let i = 0; i < 10; i++) fail('10.3.0.1', 'alice@x.test', true)
    expect(refusedBy('10.3.0.2', 'alice@x.test')).toBeUndefined()
    const strict = clocked()
    for (let i = 0; i < 2; i++) strict.fail('10.3.0.1', 'alice@x.test', true)
    expect(strict.refusedBy('10.3.0.1', 'alice@x.test', true)).toBe('user-address')
  })
})

describe('LoginThrottle: success', () => {
  it('forgives that user’s failures from that source, not the failures for other users', () => {
    const {fail, throttle, refusedBy} = clocked()
    fail('10.4.0.1', 'mine@x.test')
    fail('10.4.0.1', 'other@x.test')
    fail('10.4.0.1', 'other2@x.test')
    const right = throttle.admit('10.4.0.1', 'mine@x.test', false)
    if (!right.admitted) throw new Error('refused')
    throttle.succeeded(right.attempt)
    // 2 failures left (other, other2): two more reach the limit of 4
    fail('10.4.0.1', 'x1@x.test')
    expect(refusedBy('10.4.0.1', 'mine@x.test')).toBeUndefined()
    fail('10.4.0.1', 'x2@x.test')
    expect(refusedBy('10.4.0.1', 'mine@x.test')).toBe('address')
  })

  it('an attacker logging in to an account of their own does not clear their source', () => {
    const {fail, throttle, refusedBy} = clocked()
    for (let i = 0; i < 3; i++) fail('10.4.1.1', `victim${i}@x.test`)
    const own = throttle.admit('10.4.1.1', 'attacker@x.test', false)
    if (!own.admitted) throw new Error('refused')
    throttle.succeeded(own.attempt)
    fail('10.4.1.1', 'victim9@x.test')
    expect(refusedBy('10.4.1.1', 'victim10@x.test')).toBe('address')
  })

  it('a correct password from an unfamiliar source is not a failure of the user', () => {
    const {throttle, refusedBy, fail} = clocked()
    for (let i = 0; i < 10; i++) {
      const a = throttle.admit(`10.4.2.${i}`, 'alice@x.test', false)
      if (a.admitted) throttle.succeeded(a.attempt)
    }
    for (let i = 1; i <= 4; i++) fail(`10.4.3.${i}`, 'alice@x.test')
    expect(refusedBy('10.4.3.99', 'alice@x.test')).toBeUndefined()
  })
})

describe('LoginThrottle: window and bounds', () => {
  it('failures expire after the window (an entry exactly windowMs old no longer counts), and the window slides', () => {
    const {clock, fail, refusedBy} = clocked()
    const start = clock.t
    fail('10.5.0.1', 'a@x.test') // t = 0
    clock.t = start + 30_000
    fail('10.5.0.1', 'b@x.test') // t = 30 s
    fail('10.5.0.1', 'c@x.test')
    fail('10.5.0.1', 'd@x.test')
    clock.t = start + 59_999
    expect(refusedBy('10.5.0.1', 'e@x.test')).toBe('address')
    clock.t = start + 60_000 // the first one ages out
    expect(refusedBy('10.5.0.1', 'e@x.test')).toBeUndefined()
    fail('10.5.0.1', 'e@x.test')
    expect(refusedBy('10.5.0.1', 'f@x.test')).toBe('address')
    clock.t = start + 90_000 // the 30 s ones age out
    expect(refusedBy('10.5.0.1', 'f@x.test')).toBeUndefined()
  })

  it(`tracks at most ${MAX_KEYS} sources, dropping the least recently failed first`, () => {
    const {fail, refusedBy} = clocked({maxFailuresPerAddress: 1, maxFailuresPerUserAddress: 1000, maxFailuresPerUser: 1000})
    fail('first', 'u@x.test')
    fail('second', 'u@x.test')
    fail('first', 'v@x.test') // refused (limit 1), and a refusal does not refresh: "first" stays oldest
    expect(refusedBy('first', 'z@x.test')).toBe('address')
    for (let i = 0; i < MAX_KEYS - 1; i++) fail(`s${i}`, `u${i}@x.test`)
    expect(refusedBy('first', 'z@x.test')).toBeUndefined() // evicted
    expect(refusedBy('second', 'z@x.test')).toBe('address') // the next oldest is kept
    expect(refusedBy(`s${MAX_KEYS - 2}`, 'z@x.test')).toBe('address')
  })

  it('stats: failures in the window, blocked and slowed sources, blocked pairs, locked users, the worst sources', () => {
    const {fail, throttle} = clocked()
    for (let i = 0; i < 4; i++) fail('10.6.0.1', `u${i}@x.test`)
    for (let i = 1; i <= 3; i++) fail(`10.6.1.${i}`, 'alice@x.test')
    fail('10.6.1.1', 'alice@x.test')
    fail('10.6.1.2', 'alice@x.test') // alice: 5 unfamiliar failures → locked
    expect(throttle.stats()).toEqual({
      failures: 9,
      addresses: 4,
      blockedAddresses: 1,
      slowedAddresses: 3,
      blockedPairs: 2,
      lockedUsers: 1,
      top: [
        {address: '10.6.0.1', failures: 4, blocked: true, delayMs: 800},
        {address: '10.6.1.1', failures: 2, blocked: false, delayMs: 200},
        {address: '10.6.1.2', failures: 2, blocked: false, delayMs: 200},
        {address: '10.6.1.3', failures: 1, blocked: false, delayMs: 100},
      ],
    })
  })

  it('defaults: 15-minute window, 10 per source, 5 per (user, source), 30 per user; 0.5 s doubling up to 15 s', () => {
    expect(DEFAULT_THROTTLE).toEqual({
      windowMs: 900_000,
      maxFailuresPerAddress: 10,
      maxFailuresPerUserAddress: 5,
      maxFailuresPerUser: 30,
      failureDelayMs: 500,
      maxFailureDelayMs: 15_000,
    })
    const throttle = new LoginThrottle()
    expect([1, 2, 3, 5, 6, 10].map((n) => throttle.delayFor(n))).toEqual([500, 1000, 2000, 8000, 15_000, 15_000])
  })
})

describe('networkOf: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 as its /64 in canonical form', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['::FFFF:192.0.2.7', '192.0.2.7'],
    ['2001:db8:0:1::5', '2001:db8:0:1::/64'],
    ['2001:0DB8:0000:0001:aaaa:bbbb:cccc:dddd', '2001:db8:0:1::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['', ''],
  ])('%j → %j', (address, network) => expect(networkOf(address)).toBe(network))
})
