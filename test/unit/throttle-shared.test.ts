/**
 * LoginThrottle with shared counts (a PostgreSQL store): it judges by the store's counts of
 * decided failures (`settled`, read by the caller) plus this node's attempts in flight, and keeps
 * nothing once an attempt is decided (the store records or forgives it).
 */
import {describe, expect, it} from 'vitest'
import {LoginThrottle, type ThrottleConfig} from '../../src/auth/throttle.js'
import type {FailureCounts} from '../../src/store/backend.js'

const config: ThrottleConfig = {windowMs: 60_000, maxFailuresPerAddress: 4, maxFailuresPerUserAddress: 2, maxFailuresPerUser: 5, failureDelayMs: 100, maxFailureDelayMs: 1000}
const counts = (address: number, userAddress = 0, user = 0): FailureCounts => ({address, userAddress, user})

describe('LoginThrottle with shared counts', () => {
  it('refuses by the store’s counts alone: per source, per (user, source), per user from unfamiliar sources only', () => {
    const throttle = new LoginThrottle(config, Date.now, true)
    expect(throttle.admit('10.0.0.1', 'a@x.test', false, counts(4))).toMatchObject({admitted: false, limit: 'address', failures: 4, delayMs: 800})
    expect(throttle.admit('10.0.0.1', 'a@x.test', false, counts(1, 2))).toMatchObject({admitted: false, limit: 'user-address'})
    expect(throttle.admit('10.0.0.1', 'a@x.test', false, counts(0, 0, 5))).toMatchObject({admitted: false, limit: 'user'})
    expect(throttle.admit('10.0.0.1', 'a@x.test', true, counts(0, 0, 5)).admitted).toBe(true)
  })

  it('attempts in flight count on top of the store’s; over the limit only because of them, an attempt waits for them', () => {
    const throttle = new LoginThrottle(config, Date.now, true)
    const settled = counts(2)
    const first = throttle.admit('10.0.1.1', 'a@x.test', false, settled)
    const second = throttle.admit('10.0.1.1', 'b@x.test', false, settled)
    expect(first.admitted && second.admitted).toBe(true)
    expect(throttle.admit('10.0.1.1', 'c@x.test', false, settled)).toMatchObject({admitted: false, limit: 'address', failures: 4})
    expect(throttle.waitsForPending('10.0.1.1', 'c@x.test', false, settled)).toBe(true)
    // a failure decided: the store counts it now (3), the node no longer does
    if (!first.admitted) throw new Error('unreachable')
    expect(throttle.failed(first.attempt)).toEqual({failures: 3, delayMs: 400})
    // the store's 3 and the one still in flight here
    expect(throttle.admit('10.0.1.1', 'c@x.test', false, counts(3))).toMatchObject({admitted: false, failures: 4})
    expect(throttle.waitsForPending('10.0.1.1', 'c@x.test', false, counts(3))).toBe(true)
    if (!second.admitted) throw new Error('unreachable')
    throttle.succeeded(second.attempt)
    expect(throttle.admit('10.0.1.1', 'c@x.test', false, counts(3)).admitted).toBe(true)
  })

  it('a success forgets the attempt here and nothing else (the store forgives); the in-memory windows stay empty', () => {
    const throttle = new LoginThrottle(config, Date.now, true)
    const a = throttle.admit('10.0.2.1', 'a@x.test', false, counts(0))
    const b = throttle.admit('10.0.2.1', 'b@x.test', false, counts(0))
    if (!a.admitted || !b.admitted) throw new Error('admitted')
    throttle.succeeded(a.attempt)
    expect(throttle.refusal('10.0.2.1', 'z@x.test', false, counts(3))).toMatchObject({limit: 'address', failures: 4})
    throttle.failed(b.attempt)
    expect(throttle.refusal('10.0.2.1', 'z@x.test', false, counts(3))).toBeUndefined()
    expect(throttle.stats()).toMatchObject({failures: 0, addresses: 0})
  })

  it('counts the failures it settles per source, so a counts read that began before one is read again', () => {
    const throttle = new LoginThrottle(config, Date.now, true)
    const a = throttle.admit('10.0.3.1', 'a@x.test', false, counts(0))
    const b = throttle.admit('10.0.3.1', 'b@x.test', false, counts(0))
    const c = throttle.admit('10.0.4.1', 'c@x.test', false, counts(0))
    if (!a.admitted || !b.admitted || !c.admitted) throw new Error('admitted')
    const before = throttle.failuresSettled('10.0.3.1')
    throttle.failed(a.attempt)
    throttle.succeeded(b.attempt) // a success is forgiven in the store: nothing to read again for
    throttle.failed(c.attempt)
    throttle.failed(a.attempt) // settled already: counted once
    expect(throttle.failuresSettled('10.0.3.1') - before).toBe(1)
    expect(throttle.failuresSettled('10.0.4.1')).toBe(1)
    expect(throttle.failuresSettled('10.0.4.2')).toBe(0)
    // unshared, the node's own logs hold every failure: nothing is ever read again
    const local = new LoginThrottle(config, Date.now, false)
    const d = local.admit('10.0.5.1', 'd@x.test', false)
    if (!d.admitted) throw new Error('admitted')
    local.failed(d.attempt)
    expect(local.failuresSettled('10.0.5.1')).toBe(0)
  })
})
