import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {AuthActor, DEFAULT_AUTH, type AuthConfig} from '../../src/auth/actor.js'
import {DEFAULT_THROTTLE} from '../../src/auth/throttle.js'
import {Bus, type BusEvent, type LoginRequest} from '../../src/bus.js'
import {addDomain} from '../../src/directory/domains.js'
import {addUser, setDisabled, setPassword} from '../../src/directory/users.js'
import {MailboxError} from '../../src/errors.js'
import {createLogger} from '../../src/log.js'
import {tempStore} from '../helpers/store.js'
import {codeOfAsync} from '../helpers/errors.js'

const store = tempStore()
const SMALL: AuthConfig = {...DEFAULT_AUTH, windowMs: 60_000, maxFailuresPerAddress: 3, maxFailuresPerUser: 100, failureDelayMs: 0, verifiedCacheMs: 60_000}

beforeAll(async () => {
  await addDomain(store, 'example.com')
  await Promise.all([
    addUser(store, {address: 'Alice@Example.com', password: 'alice-pw'}),
    addUser(store, {address: 'bob@example.com', password: 'bob-pw'}),
    addUser(store, {address: 'dave@example.com', password: 'dave-pw'}),
  ])
  await setDisabled(store, 'dave@example.com', true)
})

const running: AuthActor[] = []
afterEach(async () => {
  for (const a of running.splice(0)) await a.stop()
})

async function startAuth(config: AuthConfig = SMALL) {
  const bus = new Bus()
  const events: BusEvent[] = []
  bus.subscribe('auth.*', (e) => events.push(e))
  const logLines: Record<string, unknown>[] = []
  const log = createLogger({level: 'info', pretty: false, write: (line) => void logLines.push(JSON.parse(line) as Record<string, unknown>)})
  const actor = new AuthActor(bus, store, log, config)
  await actor.start()
  running.push(actor)
  const login = (username: string, password: string, remoteAddress = '192.0.2.1', protocol: LoginRequest['protocol'] = 'imap') =>
    bus.call('auth.login', {username, password, remoteAddress, protocol, mechanism: 'password', tls: 'none'})
  return {bus, events, actor, login, logLines}
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

  it('a successful login forgives that user’s failures from its address', async () => {
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

  it('default config: the default throttle, 30 days of familiarity for up to 50 networks per user, a 5-minute verified cache', () => {
    // the throttle's own defaults are checked in throttle.test.ts
    expect(DEFAULT_AUTH).toEqual({...DEFAULT_THROTTLE, familiarAddressMs: 30 * 24 * 3600_000, maxFamiliarAddresses: 50, verifiedCacheMs: 300_000})
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
    await setDisabled(store, 'frank@example.com', true)
    expect(await codeOfAsync(login('frank@example.com', 'frank-pw', '192.0.2.77'))).toBe('disabled')
    await setDisabled(store, 'frank@example.com', false)
    for (let i = 0; i < 3; i++) await codeOfAsync(login('frank@example.com', 'wrong', '192.0.2.77'))
    expect(await codeOfAsync(login('frank@example.com', 'frank-pw', '192.0.2.77'))).toBe('throttled')
  })
})

describe('smart lockout: the attacker is throttled, not the victim', () => {
  /** a botnet: `perAddress` wrong passwords from each of `addresses` sources, those in parallel */
  async function botnet(login: (u: string, p: string, a: string) => Promise<unknown>, user: string, addresses: number, perAddress: number, net = '10.66.0') {
    const outcomes = await Promise.all(
      Array.from({length: addresses}, async (_, i) => {
        const codes: string[] = []
        for (let k = 0; k < perAddress; k++) codes.push(await codeOfAsync(login(user, `guess-${i}-${k}`, `${net}.${i + 2}`)))
        return codes
      }),
    )
    return outcomes.flat()
  }

  it('240 wrong passwords from 40 addresses: the user still logs in at once from a familiar address; unfamiliar ones are refused', async () => {
    await addUser(store, {address: 'gina@example.com', password: 'gina-pw'})
    // maxFailuresPerUser 10 instead of the default 30: fewer argon2 checks, the same story
    const {login, actor, logLines} = await startAuth({...SMALL, maxFailuresPerAddress: 10, maxFailuresPerUserAddress: 5, maxFailuresPerUser: 10})
    expect(await login('gina@example.com', 'gina-pw', '10.66.0.1')).toEqual({address: 'gina@example.com'})
    const codes = await botnet(login, 'gina@example.com', 40, 6)
    // exactly 10 reach a password check (counted when they start), the other 230 are refused unchecked
    expect(codes.filter((c) => c === 'auth-failed')).toHaveLength(10)
    expect(codes.filter((c) => c === 'throttled')).toHaveLength(230)
    expect(await login('gina@example.com', 'gina-pw', '10.66.0.1')).toEqual({address: 'gina@example.com'})
    // the right password from a new address is refused like a wrong one: nothing is revealed
    expect(await codeOfAsync(login('gina@example.com', 'gina-pw', '10.66.9.9'))).toBe('throttled')
    expect(await codeOfAsync(login('gina@example.com', 'wrong', '10.66.9.9'))).toBe('throttled')
    // other users are untouched, from the same new address
    expect(await login('bob@example.com', 'bob-pw', '10.66.9.9')).toEqual({address: 'bob@example.com'})
    expect(actor.stats()).toMatchObject({failures: 10, lockedUsers: 1, totals: {succeeded: 3, failed: 10, throttled: 232, disabled: 0}})
    const failed = logLines.filter((l) => l.msg === 'login failed')
    expect(failed).toHaveLength(242)
    expect(failed[0]).toMatchObject({username: 'gina@example.com', protocol: 'imap', reason: expect.stringMatching(/bad-credentials|throttled/)})
    expect(failed.find((l) => l.reason === 'throttled' && l.remoteAddress === '10.66.9.9')).toMatchObject({limit: 'user', failures: 0})
    // a success is one line too, with the mechanism and TLS the front-end saw; no line holds a password
    const succeeded = logLines.filter((l) => l.msg === 'login succeeded')
    expect(succeeded).toHaveLength(3)
    expect(succeeded[0]).toEqual(expect.objectContaining({username: 'gina@example.com', remoteAddress: '10.66.0.1', protocol: 'imap', mechanism: 'password', tls: 'none'}))
    expect(failed[0]).toMatchObject({mechanism: 'password', tls: 'none'})
    expect(JSON.stringify(logLines)).not.toMatch(/gina-pw|bob-pw|wrong/)
  })

  it('familiar addresses outlive the actor (they are in the store); a password change forgets them', async () => {
    await addUser(store, {address: 'hank@example.com', password: 'hank-pw'})
    const config = {...SMALL, maxFailuresPerAddress: 10, maxFailuresPerUserAddress: 5, maxFailuresPerUser: 3}
    const first = await startAuth(config)
    expect(await first.login('hank@example.com', 'hank-pw', '10.67.0.1')).toEqual({address: 'hank@example.com'})
    await first.actor.stop()
    const second = await startAuth(config)
    await botnet(second.login, 'hank@example.com', 4, 1, '10.67.1')
    expect(await second.login('hank@example.com', 'hank-pw', '10.67.0.1')).toEqual({address: 'hank@example.com'})
    expect(await codeOfAsync(second.login('hank@example.com', 'hank-pw', '10.67.0.2'))).toBe('throttled')
    await setPassword(store, 'hank@example.com', 'hank-new')
    expect(await codeOfAsync(second.login('hank@example.com', 'hank-new', '10.67.0.1'))).toBe('throttled')
  })

  it('familiarAddressMs 0 turns familiarity off: the per-user limit holds everywhere', async () => {
    await addUser(store, {address: 'ivy@example.com', password: 'ivy-pw'})
    const {login} = await startAuth({...SMALL, maxFailuresPerAddress: 10, maxFailuresPerUser: 2, familiarAddressMs: 0})
    expect(await login('ivy@example.com', 'ivy-pw', '10.68.0.1')).toEqual({address: 'ivy@example.com'})
    await botnet(login, 'ivy@example.com', 2, 1, '10.68.1')
    expect(await codeOfAsync(login('ivy@example.com', 'ivy-pw', '10.68.0.1'))).toBe('throttled')
  })

  it('the delay before a failed answer doubles with each failure from the source, up to maxFailureDelayMs', async () => {
    const {login} = await startAuth({...SMALL, maxFailuresPerAddress: 10, maxFailuresPerUserAddress: 10, failureDelayMs: 60, maxFailureDelayMs: 150, verifiedCacheMs: 0})
    const took: number[] = []
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now()
      expect(await codeOfAsync(login('alice@example.com', `nope-${i}`, '10.69.0.1'))).toBe('auth-failed')
      took.push(Date.now() - t0)
    }
    expect(took[0]).toBeGreaterThanOrEqual(55)
    expect(took[1]).toBeGreaterThanOrEqual(115)
    expect(took[2]).toBeGreaterThanOrEqual(145) // 240, capped at 150
    // the right password from a clean address is answered without any added delay
    const t0 = Date.now()
    expect(await login('alice@example.com', 'alice-pw', '10.69.0.2')).toEqual({address: 'alice@example.com'})
    expect(Date.now() - t0).toBeLessThan(took[2]! + 5_000)
  })

  it('a burst of logins with the right password from one address (a mail client opening its connections, an office behind one NAT) all get in', async () => {
    // in flight, each counts as a failure until its password check is over: a burst larger than
    // the limits must wait for those checks, not be refused as an attack
    const {login} = await startAuth({...DEFAULT_AUTH, failureDelayMs: 0, verifiedCacheMs: 0})
    const burst = await Promise.allSettled(Array.from({length: 12}, (_, i) => login(i % 3 ? 'alice@example.com' : 'bob@example.com', i % 3 ? 'alice-pw' : 'bob-pw', '198.51.100.7')))
    expect(burst.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as MailboxError).code))).toEqual(Array(12).fill('ok'))
  })

  it('parallel wrong passwords from one address: those over the limit wait for the checks in flight, then are refused unchecked', async () => {
    const {login} = await startAuth() // maxFailuresPerAddress 3
    const burst = await Promise.allSettled(Array.from({length: 10}, (_, i) => login('alice@example.com', `wrong-${i}`, '198.51.100.8')))
    const codes = burst.map((r) => (r.status === 'rejected' ? (r.reason as MailboxError).code : 'ok'))
    expect(codes.filter((c) => c === 'auth-failed')).toHaveLength(3)
    expect(codes.filter((c) => c === 'throttled')).toHaveLength(7)
  })

  it('stopping the actor cuts pending delays short', async () => {
    const {login, actor} = await startAuth({...SMALL, failureDelayMs: 60_000, maxFailureDelayMs: 60_000})
    const t0 = Date.now()
    const pending = codeOfAsync(login('alice@example.com', 'nope', '10.70.0.1'))
    await new Promise((resolve) => setTimeout(resolve, 300)) // past the argon2 check, into the delay
    await actor.stop()
    expect(await pending).toBe('auth-failed')
    expect(Date.now() - t0).toBeLessThan(20_000)
  })
})
