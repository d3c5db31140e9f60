/**
 * A botnet's wrong guesses must not lock a user out of their own mailbox (issue 12 §3), against a
 * real `serve` with IMAP, POP3 and submission in the clear (--allow-insecure-auth). The config file
 * shortens the delays and lowers maxFailuresPerUser from 30 to 10 (fewer argon2 checks: the test
 * stays quick on a loaded machine); the other limits are the defaults. Once per protocol, on a
 * fresh server (the three run at once): alice logs in from 127.0.0.1; 240 wrong passwords for alice arrive from
 * 127.0.0.2–127.0.0.41 (six each, one connection per attempt; .2 first and alone, so its delays
 * can be timed, then the other 39 at once); then
 * - alice's right password from 127.0.0.1 logs in at once over IMAP, POP3 and submission;
 * - the attacker at 127.0.0.2 was answered later after each failure (doubling), then refused;
 * - exactly 10 guesses (maxFailuresPerUser) reached a password check, the other 230 were refused
 *   unchecked; alice's right password from an address she never used (127.0.0.42) is refused the
 *   same way (throttled, not slowed: the answer says nothing about the password);
 * - every failure is a JSON log line with user, address and protocol, and `status --json` counts them.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, runJson} from '../helpers/cli.js'
import {RawImap, quote, startImapServer, type ImapServer} from './imap-helpers.js'
import {RawPop3} from './pop3-helpers.js'
import {RawSmtp} from './smtp-helpers.js'

const ALICE = {address: 'alice@example.test', password: 'alice-pw'}
const DELAY = 50
const CAP = 1000
const PER_USER = 10
const PROTOCOLS = ['imap', 'pop3', 'submission'] as const
type Protocol = (typeof PROTOCOLS)[number]
type Outcome = 'ok' | 'failed' | 'throttled'
type Ports = {imap: number; pop3: number; submission: number}

/** One login on a fresh connection from `from`; the outcome, and how long the answer took. */
async function tryLogin(protocol: Protocol, ports: Ports, from: string, user: string, password: string): Promise<{outcome: Outcome; ms: number}> {
  if (protocol === 'imap') {
    const c = await RawImap.open(ports.imap, {localAddress: from})
    try {
      const t0 = Date.now()
      const r = await c.command(`LOGIN ${quote(user)} ${quote(password)}`)
      const ms = Date.now() - t0
      if (r.status === 'OK') return {outcome: 'ok', ms}
      if (r.text.startsWith('[AUTHENTICATIONFAILED] ')) return {outcome: 'failed', ms}
      if (r.text === '[UNAVAILABLE] Too many failed logins; try again later') return {outcome: 'throttled', ms}
      throw new Error(`unexpected LOGIN reply: ${r.tagged}`)
    } finally {
      c.close()
    }
  }
  if (protocol === 'pop3') {
    const c = await RawPop3.open(ports.pop3, {localAddress: from})
    try {
      expect(await c.cmd(`USER ${user}`)).toMatch(/^\+OK/)
      const t0 = Date.now()
      const r = await c.cmd(`PASS ${password}`)
      const ms = Date.now() - t0
      if (r.startsWith('+OK ')) return {outcome: 'ok', ms}
      if (r === '-ERR [AUTH] invalid user name or password') return {outcome: 'failed', ms}
      if (r === '-ERR [SYS/TEMP] too many failed logins, try again later') return {outcome: 'throttled', ms}
      throw new Error(`unexpected PASS reply: ${r}`)
    } finally {
      await c.drop()
    }
  }
  const c = await RawSmtp.open(ports.submission, {localAddress: from})
  try {
    await c.ehlo()
    const t0 = Date.now()
    const r = await c.authPlain(user, password)
    const ms = Date.now() - t0
    if (r.code === 235) return {outcome: 'ok', ms}
    if (r.code === 535 && r.lines[0]!.startsWith('5.7.8 ')) return {outcome: 'failed', ms}
    if (r.code === 454 && r.lines[0]!.startsWith('4.7.0 ')) return {outcome: 'throttled', ms}
    throw new Error(`unexpected AUTH reply: ${r.raw}`)
  } finally {
    c.close()
  }
}

const count = (outcomes: {outcome: Outcome}[], o: Outcome) => outcomes.filter((x) => x.outcome === o).length
const attacker = (i: number) => `127.0.0.${i + 2}` // i = 0 … 39

/** a fresh server per protocol (the throttle's counts are per process), started together */
const servers = new Map<Protocol, {server: ImapServer; ports: Ports}>()

beforeAll(async () => {
  await Promise.all(
    PROTOCOLS.map(async (protocol) => {
      const submission = await freePort()
      const config = {auth: {failureDelayMs: DELAY, maxFailureDelayMs: CAP, maxFailuresPerUser: PER_USER}}
      const server = await startImapServer({pop3: true, args: ['--submission-port', String(submission)], config})
      servers.set(protocol, {server, ports: {imap: server.ports.imap, pop3: server.ports.pop3!, submission}})
    }),
  )
}, 60_000)

afterAll(async () => {
  await Promise.all([...servers.values()].map(({server}) => server.stop()))
})

// the three protocols at once, each on its own server: the attacks are mostly waiting out the
// delays (their timings are lower bounds, alice's own login the one upper bound: CAP)
describe.concurrent('smart lockout', () => {
  it.each(PROTOCOLS)('over %s: 240 wrong passwords from 40 addresses: alice still logs in at once from her address; the attackers are slowed and refused', async (protocol) => {
    const {server, ports} = servers.get(protocol)!
    expect((await tryLogin(protocol, ports, '127.0.0.1', ALICE.address, ALICE.password)).outcome).toBe('ok')

    const first: {outcome: Outcome; ms: number}[] = []
    for (let k = 0; k < 6; k++) first.push(await tryLogin(protocol, ports, attacker(0), ALICE.address, `guess-0-${k}`))
    const rest = await Promise.all(
      Array.from({length: 39}, async (_, j) => {
        const outcomes: {outcome: Outcome; ms: number}[] = []
        for (let k = 0; k < 6; k++) outcomes.push(await tryLogin(protocol, ports, attacker(j + 1), ALICE.address, `guess-${j + 1}-${k}`))
        return outcomes
      }),
    )
    const attack = [...first, ...rest.flat()]
    expect(attack).toHaveLength(240)

    // alice, from the address she logged in from, over every protocol (the throttle is shared)
    for (const p of PROTOCOLS) {
      const own = await tryLogin(p, ports, '127.0.0.1', ALICE.address, ALICE.password)
      expect(own.outcome, `alice over ${p} after the attack on ${protocol}`).toBe('ok')
      expect(own.ms, `alice over ${p}: no added delay`).toBeLessThan(CAP)
    }

    // the first attacker: 5 failures, each answered later (50, 100, 200, 400, 800 ms), then refused
    expect(first.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'failed', 'failed', 'throttled'])
    first.slice(0, 5).forEach((a, k) => expect(a.ms, `attempt ${k + 1}`).toBeGreaterThanOrEqual(DELAY * 2 ** k - 20))
    expect(first[5]!.ms).toBeGreaterThanOrEqual(DELAY * 16 - 20)
    // 10 unfamiliar failures lock alice to unfamiliar addresses: the rest never reach a password check
    expect(count(attack, 'failed')).toBe(PER_USER)
    expect(count(attack, 'throttled')).toBe(240 - PER_USER)
    expect(count(attack, 'ok')).toBe(0)
    // every refusal was slowed too (at least failureDelayMs), so a botnet gains nothing by hammering
    for (const a of attack.filter((x) => x.outcome === 'throttled')) expect(a.ms).toBeGreaterThanOrEqual(DELAY - 20)

    // alice's right password from an address she never used is refused like a wrong one
    const stranger = await tryLogin(protocol, ports, '127.0.0.42', ALICE.address, ALICE.password)
    expect(stranger.outcome).toBe('throttled')
    expect((await tryLogin(protocol, ports, '127.0.0.42', ALICE.address, 'wrong')).outcome).toBe('throttled')
    // bob is not under attack: he logs in from there
    expect((await tryLogin(protocol, ports, '127.0.0.42', 'bob@example.test', 'bob-pw')).outcome).toBe('ok')

    // counted in the live status
    const status = await runJson(['status'], {dataDir: server.dataDir})
    expect(status.auth).toMatchObject({
      windowMs: 900_000,
      failures: PER_USER,
      addresses: expect.any(Number),
      blockedAddresses: 0,
      lockedUsers: 1,
      totals: {succeeded: 5, failed: PER_USER, throttled: 242 - PER_USER, disabled: 0},
    })
    expect(status.auth.blockedPairs).toBeGreaterThanOrEqual(1)
    expect(status.auth.top[0]).toEqual({address: '127.0.0.2', failures: 5, blocked: false, delayMs: DELAY * 16})
    const human = await runCli(['status'], {dataDir: server.dataDir})
    expect(human.stdout).toMatch(new RegExp(`^auth: +${PER_USER} failed logins in the last 15m from \\d+ addresses \\(0 blocked, \\d+ slowed\\); 1 user refusing unfamiliar addresses$`, 'm'))
    expect(human.stdout).toMatch(new RegExp(`^ +since start: 5 logged in, ${PER_USER} failed, ${242 - PER_USER} throttled, 0 disabled$`, 'm'))
    expect(human.stdout).toMatch(/^ +127\.0\.0\.2 +5 failures, next answer after 800 ms$/m)

    // and logged: one JSON line per failure with user, address, protocol and why
    const wire = protocol === 'submission' ? 'smtp' : protocol
    const failures = server.served
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"login failed"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(failures).toHaveLength(242)
    for (const f of failures) expect(f).toMatchObject({component: 'auth', username: ALICE.address, protocol: wire, remoteAddress: expect.stringMatching(/^127\.0\.0\.([2-9]|[1-3]\d|4[0-2])$/)})
    expect(failures.filter((f) => f.reason === 'bad-credentials')).toHaveLength(PER_USER)
    expect(failures.filter((f) => f.reason === 'throttled' && f.limit === 'user')).toHaveLength(241 - PER_USER)
    expect(failures.filter((f) => f.reason === 'throttled' && f.limit === 'user-address')).toHaveLength(1)
  }, 60_000)
})

describe('a burst of right passwords is not an attack', () => {
  it('12 IMAP logins for alice at once from one address, on a fresh server (nothing cached): all get in', async () => {
    // while its password is checked each attempt counts as a failure (so parallel guesses cannot
    // slip under a limit); more of them in flight than maxFailuresPerUserAddress (5) must wait, not be refused
    const server = await startImapServer({})
    try {
      const ports = {imap: server.ports.imap, pop3: 0, submission: 0}
      const burst = await Promise.all(Array.from({length: 12}, () => tryLogin('imap', ports, '127.0.0.60', ALICE.address, ALICE.password)))
      expect(burst.map((b) => b.outcome)).toEqual(Array(12).fill('ok'))
      expect((await runJson(['status'], {dataDir: server.dataDir})).auth.totals).toMatchObject({succeeded: 12, throttled: 0})
    } finally {
      await server.stop()
    }
  }, 60_000)
})
