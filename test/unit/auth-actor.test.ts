import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {AuthActor, DEFAULT_AUTH, type AuthConfig} from '../../src/auth/actor.js'
import {Bus, type BusEvent} from '../../src/bus.js'
import {addDomain} from '../../src/directory/domains.js'
import {addUser, setDisabled, setPassword} from '../../src/directory/users.js'
import {MailboxError} from '../../src/errors.js'
import {silentLogger} from '../../src/log.js'
import {tempStore} from '../helpers/store.js'
import {codeOfAsync} from '../helpers/errors.js'

const store = tempStore()
const SMALL: AuthConfig = {windowMs: 60_000, maxFailuresPerAddress: 3, maxFailuresPerUser: 100, failureDelayMs: 0, verifiedCacheMs: 60_000}

beforeAll(async () => {
  addDomain(store, 'example.com')
  await Promise.all([
    addUser(store, {address: 'Alice@Example.com', password: 'alice-pw'}),
    addUser(store, {address: 'bob@example.com', password: 'bob-pw'}),
    addUser(store, {address: 'dave@example.com', password: 'dave-pw'}),
  ])
  setDisabled(store, 'dave@example.com', true)
})

const running: AuthActor[] = []
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop()
})

async function startAuth(config: AuthConfig = SMALL) {
  const bus = new Bus()
  const events: BusEvent[] = []
  bus.subscribe('auth.*', (e) => events.push(e))
  const actor = new AuthActor(bus, store, silentLogger, config)
  await actor.start()
  running.push(actor)
  const login = (username: string, password: string, remoteAddress = '192.0.2.1', protocol = 'imap') =>
    bus.call('auth.login', {username, password, remoteAddress, protocol})
  return {bus, events, actor, login}
}


describe('auth actor', () => {
  it('registers auth.verify and auth.login on start and releases them on stop', async () => {
    const {bus, actor} = await startAuth()
    expect(bus.has('auth.verify')).toBe(true)
    expect(bus.has('auth.login')).toBe(true)
    expect(actor.name).toBe('auth')
    await actor.stop()
    expect(bus.has('auth.verify')).toBe(false)
    expect(bus.has('auth.login')).toBe(false)
    await expect(bus.call('auth.verify', {address: 'alice@example.com'})).rejects.toThrow(/no handler/)
  })

  it('auth.verify says whether an address is a user and whether it is disabled', async () => {
    const {bus} = await startAuth()
    expect(await bus.call('auth.verify', {address: 'ALICE@example.COM'})).toEqual({exists: true, disabled: false})
    expect(await bus.call('auth.verify', {address: 'dave@example.com'})).toEqual({exists: true, disabled: true})
    expect(await bus.call('auth.verify', {address: 'nobody@example.com'})).toEqual({exists: false, disabled: false})
    expect(await bus.call('auth.verify', {address: 'not an address'})).toEqual({exists: false, disabled: false})
  })

  it('the correct password logs in with the canonical address; the username is case-insensitive', async () => {
    const {login, events} = await startAuth()
    expect(await login('  ALICE@Example.COM ', 'alice-pw', '192.0.2.7', 'pop3')).toEqual({address: 'alice@example.com'})
    expect(events.map((e) => [e.event, e.body])).toEqual([
      ['auth.succeeded', {address: 'alice@example.com', remoteAddress: '192.0.2.7', protocol: 'pop3'}],
    ])
  })

  it('a wrong password fails with auth-failed and publishes auth.failed', async () => {
    const {login, events} = await startAuth()
    expect(await codeOfAsync(login('alice@example.com', 'wrong', '192.0.2.8', 'smtp'))).toBe('auth-failed')
    expect(events.map((e) => [e.event, e.body])).toEqual([
      ['auth.failed', {username: 'alice@example.com', remoteAddress: '192.0.2.8', protocol: 'smtp', reason: 'bad-credentials'}],
    ])
    expect(typeof events[0]!.time).toBe('number')
  })

  it('the password is case-sensitive', async () => {
    const {login} = await startAuth()
    expect(await codeOfAsync(login('alice@example.com', 'ALICE-PW'))).toBe('auth-failed')
  })

  it('an unknown or malformed username fails with auth-failed, like a wrong password', async () => {
    const {login, events} = await startAuth()
    expect(await codeOfAsync(login('nobody@example.com', 'alice-pw'))).toBe('auth-failed')
    expect(await codeOfAsync(login('not an address', 'alice-pw'))).toBe('auth-failed')
    expect(events.map((e) => (e.body as {reason: string}).reason)).toEqual(['bad-credentials', 'bad-credentials'])
  })

  it('a disabled user gets disabled only with the correct password', async () => {
    const {login, events} = await startAuth()
    expect(await codeOfAsync(login('dave@example.com', 'wrong'))).toBe('auth-failed')
    expect(await codeOfAsync(login('dave@example.com', 'dave-pw'))).toBe('disabled')
    expect(events.map((e) => [e.event, (e.body as {reason?: string}).reason])).toEqual([
      ['auth.failed', 'bad-credentials'],
      ['auth.failed', 'disabled'],
    ])
  })

  it('throttles an address after N failures, even with the right password; other addresses still log in', async () => {
    const {login, events} = await startAuth()
    for (let i = 0; i < 3; i++) expect(await codeOfAsync(login('alice@example.com', `guess${i}`, '198.51.100.1'))).toBe('auth-failed')
    expect(await codeOfAsync(login('alice@example.com', 'alice-pw', '198.51.100.1'))).toBe('throttled')
    expect(await codeOfAsync(login('bob@example.com', 'bob-pw', '198.51.100.1'))).toBe('throttled')
    expect(events.at(-1)).toMatchObject({event: 'auth.failed', body: {reason: 'throttled', remoteAddress: '198.51.100.1'}})
    expect(await login('alice@example.com', 'alice-pw', '198.51.100.2')).toEqual({address: 'alice@example.com'})
  })

  it('throttles a user across addresses (per-user limit), not other users', async () => {
    const {login} = await startAuth({...SMALL, maxFailuresPerAddress: 100, maxFailuresPerUser: 3})
    // mixed case counts as the same user
    expect(await codeOfAsync(login('BOB@example.com', 'x', '203.0.113.1'))).toBe('auth-failed')
    expect(await codeOfAsync(login('bob@example.com', 'x', '203.0.113.2'))).toBe('auth-failed')
    expect(await codeOfAsync(login('Bob@Example.com', 'x', '203.0.113.3'))).toBe('auth-failed')
    expect(await codeOfAsync(login('bob@example.com', 'bob-pw', '203.0.113.4'))).toBe('throttled')
    expect(await login('alice@example.com', 'alice-pw', '203.0.113.4')).toEqual({address: 'alice@example.com'})
  })

  it('a successful login clears the failures of its address', async () => {
    const {login} = await startAuth()
    const ip = '198.51.100.9'
    expect(await codeOfAsync(login('alice@example.com', 'x', ip))).toBe('auth-failed')
    expect(await codeOfAsync(login('alice@example.com', 'x', ip))).toBe('auth-failed')
    expect(await login('alice@example.com', 'alice-pw', ip)).toEqual({address: 'alice@example.com'})
    expect(await codeOfAsync(login('alice@example.com', 'x', ip))).toBe('auth-failed')
    expect(await codeOfAsync(login('alice@example.com', 'x', ip))).toBe('auth-failed')
    // 4 failures in the window, but only 2 since the success
    expect(await login('alice@example.com', 'alice-pw', ip)).toEqual({address: 'alice@example.com'})
  })

  it('throttle state belongs to one actor: a fresh actor starts clean', async () => {
    const first = await startAuth()
    for (let i = 0; i < 3; i++) await codeOfAsync(first.login('alice@example.com', 'x', '192.0.2.50'))
    expect(await codeOfAsync(first.login('alice@example.com', 'alice-pw', '192.0.2.50'))).toBe('throttled')
    await first.actor.stop()
    const second = await startAuth()
    expect(await second.login('alice@example.com', 'alice-pw', '192.0.2.50')).toEqual({address: 'alice@example.com'})
  })

  it('waits failureDelayMs before answering a failed login', async () => {
    const {login} = await startAuth({...SMALL, failureDelayMs: 300})
    const t0 = Date.now()
    expect(await codeOfAsync(login('alice@example.com', 'nope', '192.0.2.60'))).toBe('auth-failed')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
  })

  it('default config: 500 ms failure delay on top of the default throttle', () => {
    expect(DEFAULT_AUTH).toEqual({windowMs: 900_000, maxFailuresPerAddress: 10, maxFailuresPerUser: 30, failureDelayMs: 500, verifiedCacheMs: 300_000})
  })
})

describe('verified-credentials cache', () => {
  it('a password change makes the remembered old password useless at once', async () => {
    await addUser(store, {address: 'erin@example.com', password: 'old-pw'})
    const {login} = await startAuth()
    expect(await login('erin@example.com', 'old-pw')).toEqual({address: 'erin@example.com'})
    expect(await login('erin@example.com', 'old-pw')).toEqual({address: 'erin@example.com'})
    await setPassword(store, 'erin@example.com', 'new-pw')
    expect(await codeOfAsync(login('erin@example.com', 'old-pw'))).toBe('auth-failed')
    expect(await login('erin@example.com', 'new-pw')).toEqual({address: 'erin@example.com'})
  })

  it('a remembered password does not let a disabled user or a throttled address in', async () => {
    await addUser(store, {address: 'frank@example.com', password: 'frank-pw'})
    const {login} = await startAuth()
    expect(await login('frank@example.com', 'frank-pw', '192.0.2.77')).toEqual({address: 'frank@example.com'})
    setDisabled(store, 'frank@example.com', true)
    expect(await codeOfAsync(login('frank@example.com', 'frank-pw', '192.0.2.77'))).toBe('disabled')
    setDisabled(store, 'frank@example.com', false)
    for (let i = 0; i < 3; i++) await codeOfAsync(login('frank@example.com', 'wrong', '192.0.2.77'))
    expect(await codeOfAsync(login('frank@example.com', 'frank-pw', '192.0.2.77'))).toBe('throttled')
  })
})
