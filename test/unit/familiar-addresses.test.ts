import {describe, expect, it} from 'vitest'
import {addDomain} from '../../src/directory/domains.js'
import {addUser, removeUser} from '../../src/directory/users.js'
import {forgetLogins, lastLoginFrom, rememberLogin, REFRESH_MS} from '../../src/store/familiar-addresses.js'
import {tempStore} from '../helpers/store.js'

const store = tempStore()
const DAY = 24 * 3600_000
const policy = {maxAgeMs: 30 * DAY, maxPerUser: 3}
const T = Date.UTC(2026, 0, 1)

describe('familiar addresses (store)', () => {
  it('a remembered login is familiar for maxAgeMs, then not', async () => {
    await rememberLogin(store, 'a@x.test', '192.0.2.1', T, policy)
    expect(lastLoginFrom(store, 'a@x.test', '192.0.2.1', T + 30 * DAY - 1, policy.maxAgeMs)).toBe(T)
    expect(lastLoginFrom(store, 'a@x.test', '192.0.2.1', T + 30 * DAY, policy.maxAgeMs)).toBeUndefined()
    expect(lastLoginFrom(store, 'a@x.test', '192.0.2.2', T, policy.maxAgeMs)).toBeUndefined()
    expect(lastLoginFrom(store, 'b@x.test', '192.0.2.1', T, policy.maxAgeMs)).toBeUndefined()
  })

  it('a login soon after the last one is not written again; a day later it is', async () => {
    await rememberLogin(store, 'c@x.test', '192.0.2.1', T, policy)
    await rememberLogin(store, 'c@x.test', '192.0.2.1', T + REFRESH_MS - 1, policy)
    expect(lastLoginFrom(store, 'c@x.test', '192.0.2.1', T, policy.maxAgeMs)).toBe(T)
    await rememberLogin(store, 'c@x.test', '192.0.2.1', T + REFRESH_MS, policy)
    expect(lastLoginFrom(store, 'c@x.test', '192.0.2.1', T + REFRESH_MS, policy.maxAgeMs)).toBe(T + REFRESH_MS)
  })

  it('keeps at most maxPerUser per user, the most recent, and drops expired ones on the next write', async () => {
    for (let i = 1; i <= 4; i++) await rememberLogin(store, 'd@x.test', `10.0.0.${i}`, T + i * 1000, policy)
    const known = (now: number) => [1, 2, 3, 4, 5].filter((i) => lastLoginFrom(store, 'd@x.test', `10.0.0.${i}`, now, 365 * DAY) !== undefined)
    expect(known(T + 10_000)).toEqual([2, 3, 4])
    await rememberLogin(store, 'd@x.test', '10.0.0.5', T + 30 * DAY + 2500, policy) // 1 and 2 are older than 30 days by now
    expect(known(T + 30 * DAY + 2500)).toEqual([3, 4, 5])
    // another user's records are untouched
    expect(lastLoginFrom(store, 'a@x.test', '192.0.2.1', T, policy.maxAgeMs)).toBe(T)
  })

  it('forgetLogins drops one user’s records; removing a user forgets them too', async () => {
    await rememberLogin(store, 'e@x.test', '10.1.0.1', T, policy)
    store.transact(() => forgetLogins(store, 'e@x.test'))
    expect(lastLoginFrom(store, 'e@x.test', '10.1.0.1', T, policy.maxAgeMs)).toBeUndefined()
    await addDomain(store, 'example.org')
    await addUser(store, {address: 'f@example.org', password: 'pw'})
    await rememberLogin(store, 'f@example.org', '10.1.0.2', T, policy)
    await removeUser(store, 'f@example.org')
    expect(lastLoginFrom(store, 'f@example.org', '10.1.0.2', T, policy.maxAgeMs)).toBeUndefined()
  })
})
