/**
 * Issue 12 §2: a regular expression from a matcher client or a capture rule must not stall the
 * server. A pattern that backtracks catastrophically (`^(a+)+$`) is installed, mail that hits its
 * worst case arrives, and an IMAP NOOP on another connection must still be answered within
 * 500 ms all along (on a backtracking engine the whole process froze for seconds to minutes).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runJson} from '../helpers/cli.js'
import {RawImap, deliver, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'
import {LineClient} from './matcher-helpers.js'

/** a's before the '!': about 2^30 backtracking steps per test on V8's engine, seconds of frozen event loop */
const WORST_CASE = 'a'.repeat(30)
/** far under the seconds a backtracking engine freezes for, and loose enough for a loaded 2-core CI machine (115 ms seen) */
const NOOP_BOUND_MS = 500
/** without slicing, 100 such tests in a row hold the event loop for seconds */
const SLICED_BOUND_MS = 750

let plain: ImapServer
let capture: ImapServer
let matcherPort: number
const clients: LineClient[] = []
const imaps: RawImap[] = []

beforeAll(async () => {
  matcherPort = await freePort()
  ;[plain, capture] = await Promise.all([
    // a normal server whose matcher was asked for explicitly
    startImapServer({args: ['--matcher-port', String(matcherPort)]}),
    startImapServer({args: ['--capture']}),
  ])
})

afterAll(async () => {
  for (const c of clients) c.destroy()
  for (const i of imaps) i.close()
  // a server stalled by a backtracking regex (the bug) cannot handle SIGTERM: kill it after a while
  await Promise.all(
    [plain, capture].map(async (server) => {
      if (!server) return
      const kill = setTimeout(() => server.served.child.kill('SIGKILL'), 5000)
      await server.stop()
      clearTimeout(kill)
    }),
  )
})

/**
 * NOOPs on `imap`, one after the other, for at least `windowMs` and until `work` has settled;
 * resolves to the slowest round trip.
 */
async function slowestNoopWhile(imap: RawImap, work: Promise<unknown>, windowMs = 2000): Promise<number> {
  let settled = false
  void work.finally(() => (settled = true)).catch(() => {})
  const until = Date.now() + windowMs
  let slowest = 0
  for (let i = 0; i < 400 && (Date.now() < until || !settled); i++) {
    const t0 = performance.now()
    const r = await imap.command('NOOP')
    expect(r.status).toBe('OK')
    slowest = Math.max(slowest, performance.now() - t0)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return slowest
}

describe('a pathological regular expression does not stall the server', () => {
  it('matcher: MATCH subject /^(a+)+$/, then a mail with its worst-case subject; NOOP stays under 500 ms, and matching still works', async () => {
    const watcher = await LineClient.ready(matcherPort, {autoPong: true})
    clients.push(watcher)
    const stalling = await watcher.match({subject: '/^(a+)+$/', timeout_s: 60})
    const matching = await watcher.match({subject: '/^(a+)+!$/', timeout_s: 60})
    const imap = await RawImap.login(plain.ports.imap, plain.users[0]!)
    imaps.push(imap)
    const sent = deliver(plain.ports.smtp, plain.users[0]!.address, simpleMessage({subject: `${WORST_CASE}!`}))
    const slowest = await slowestNoopWhile(imap, sent)
    await sent
    expect(slowest, `slowest NOOP ${slowest.toFixed(1)} ms`).toBeLessThan(NOOP_BOUND_MS)
    // RE2 answers correctly too: the anchored pattern does not match, the one with the '!' does
    expect((await watcher.gotEmail(matching, 10_000)).subject).toBe(`${WORST_CASE}!`)
    await watcher.none((l) => l.verb === 'GOTEMAIL' && l.body?.match_id === stalling, 300, 'GOTEMAIL for the non-matching pattern')
  })

  it('100 pending matches with the costliest pattern allowed: matching one mail against all of them yields to other connections', async () => {
    // each test is linear but not free (a ~480-instruction program over a 512-character subject,
    // 10-40 ms): together seconds of work, which must come in slices, not as one stall. One slice
    // may hold a single test, so the bound here is looser than the single-pattern one.
    const watchers = await Promise.all([0, 1].map(() => LineClient.ready(matcherPort, {autoPong: true})))
    clients.push(...watchers)
    for (const w of watchers) for (let i = 0; i < 50; i++) await w.match({subject: '/[\\s\\S]{480}!/', timeout_s: 120})
    const subject = 'ab'.repeat(256) // no '!': every one of them scans to the end
    const imap = await RawImap.login(plain.ports.imap, plain.users[0]!)
    imaps.push(imap)
    const sent = deliver(plain.ports.smtp, plain.users[0]!.address, simpleMessage({subject}))
    const slowest = await slowestNoopWhile(imap, sent, 3000)
    await sent
    expect(slowest, `slowest NOOP ${slowest.toFixed(1)} ms`).toBeLessThan(SLICED_BOUND_MS)
  })

  it('capture rule --to /^(a+)+$/ and a worst-case recipient: NOOP stays under 500 ms, the mail is accepted', async () => {
    await runJson(['capture', 'rule', 'add', '--to', '/^(a+)+$/', '--reply', '550 5.1.1 refused by rule'], {dataDir: capture.dataDir})
    const imap = await RawImap.login(capture.ports.imap, capture.users[0]!)
    imaps.push(imap)
    const recipient = `${WORST_CASE}@example.test` // `^(a+)+$` fails at the '@' after trying every split of the a's
    const sent = deliver(capture.ports.smtp, recipient, simpleMessage({to: recipient, subject: 'worst case recipient'}))
    const slowest = await slowestNoopWhile(imap, sent)
    await sent // accepted: the rule does not match
    expect(slowest, `slowest NOOP ${slowest.toFixed(1)} ms`).toBeLessThan(NOOP_BOUND_MS)
  })
})
