/**
 * Brute-force throttle on SMTP AUTH against a real `serve` (default: 10 failures per address per
 * 15 minutes, 5 per user and address). The ten failures run on parallel connections, so the
 * failure delay (doubling up to `maxFailureDelayMs`, 0.5 s here) is paid about once.
 * `--allow-insecure-auth` keeps the sessions plaintext (and is itself checked). The smart-lockout
 * scenario (many addresses, one user) is in auth-smart-lockout.test.ts.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {RawSmtp, codeOf, counts, freePorts, setupUsers} from './smtp-helpers.js'

let dataDir: string
let served: Served
let submission: number

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[submission] = await freePorts(1)
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com', password: 'alice-pw'}])
  const config = join(dirname(dataDir), 'config.json')
  writeFileSync(config, JSON.stringify({auth: {failureDelayMs: 50, maxFailureDelayMs: 500}}))
  served = await startServe(dataDir, ['--allow-insecure-auth', '--config', config, '--submission-port', String(submission)])
})

afterAll(async () => {
  await served?.stop()
})

async function session(localAddress?: string): Promise<RawSmtp> {
  const c = await RawSmtp.open(submission, localAddress ? {localAddress} : {})
  await c.ehlo()
  return c
}

describe('SMTP AUTH throttle', () => {
  it('--allow-insecure-auth offers AUTH on plaintext and a correct password works', async () => {
    const c = await RawSmtp.open(submission)
    const features = await c.ehlo()
    expect(features).toContain('AUTH PLAIN LOGIN')
    const r = await c.authPlain('alice@example.com', 'alice-pw')
    expect(codeOf(r), r.raw).toBe('235 2.7.0')
    await c.quit()
  })

  it('ten failures from one address → 535 each; the next attempt (even with the right password) → 454 4.7.0', async () => {
    const before = await counts(dataDir)
    const sessions = await Promise.all(Array.from({length: 10}, () => session()))
    const started = Date.now()
    // five each for two users: six for one user would hit the per-(user, address) limit first
    const failures = await Promise.all(sessions.map((c, i) => c.authPlain(i % 2 ? 'alice@example.com' : 'nobody@example.com', `wrong-${i}`)))
    expect(failures.map(codeOf)).toEqual(Array(10).fill('535 5.7.8'))
    // the failure delay applies to each, but in parallel it is paid about once
    expect(Date.now() - started).toBeGreaterThanOrEqual(450)
    await Promise.all(sessions.map((c) => c.quit()))

    const c = await session()
    const blocked = await c.authPlain('alice@example.com', 'alice-pw')
    expect(codeOf(blocked), blocked.raw).toBe('454 4.7.0')
    const blockedWrong = await c.authPlain('alice@example.com', 'wrong-again')
    expect(codeOf(blockedWrong), blockedWrong.raw).toBe('454 4.7.0')
    // other users from the same address are blocked too (the limit is per address)
    const other = await c.authPlain('bob@example.com', 'whatever')
    expect(codeOf(other), other.raw).toBe('454 4.7.0')
    // not authenticated: no mail can be submitted
    expect((await c.cmd('MAIL FROM:<alice@example.com>')).code).toBe(530)
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it('a dozen attempts waiting out their delays at once: answered, and no listener-leak warning on stderr', async () => {
    // block 127.0.0.4 (ten failures), then twelve refused attempts from there wait their delay together
    const first = await Promise.all(Array.from({length: 10}, () => session('127.0.0.4')))
    await Promise.all(first.map((c, i) => c.authPlain(`user${i}@example.com`, 'wrong')))
    await Promise.all(first.map((c) => c.quit()))
    const waiting = await Promise.all(Array.from({length: 12}, () => session('127.0.0.4')))
    const replies = await Promise.all(waiting.map((c, i) => c.authPlain(`other${i}@example.com`, 'wrong')))
    expect(replies.map(codeOf)).toEqual(Array(12).fill('454 4.7.0'))
    await Promise.all(waiting.map((c) => c.quit()))
    expect(served.errors()).not.toMatch(/MaxListenersExceeded|memory leak/)
  })
})
