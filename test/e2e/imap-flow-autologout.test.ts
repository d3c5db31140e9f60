/**
 * Autologout with short timeouts ({"imap": {"idleTimeoutMs": 1500, "preauthTimeoutMs": 1000}}):
 * a silent connection gets `* BYE` and is closed, before login, after login and during IDLE;
 * a connection that keeps talking is not.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawImap, type ImapServer, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
let server: ImapServer
const open: {close(): void}[] = []

beforeAll(async () => {
  // failed logins answer after 1.3 s: longer than the pre-login timeout
  server = await startImapServer({config: {imap: {idleTimeoutMs: 1500, preauthTimeoutMs: 1000}, auth: {failureDelayMs: 1300}}})
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await server?.stop()
})

/** waits for the server to close `c`; returns ms from `since` and the responses received meanwhile */
async function closedAfter(c: RawImap, since: number): Promise<{ms: number; lines: string[]}> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not closed within 5 s')), 5000))
  await Promise.race([c.closed, timeout])
  const ms = Date.now() - since
  return {ms, lines: await c.collect(0)}
}

describe('autologout', () => {
  it('a silent connection is dropped with BYE: before login (1 s), after login and in IDLE (1.5 s); a talking one is not', async () => {
    const preauth = async () => {
      // the server's timer starts at accept, before the greeting reaches us: count from before connecting
      const t0 = Date.now()
      const c = await RawImap.open(server.ports.imap)
      open.push(c)
      const {ms, lines} = await closedAfter(c, t0)
      expect(lines).toEqual(['* BYE Autologout; idle for too long'])
      expect(ms).toBeGreaterThanOrEqual(900)
      expect(ms).toBeLessThan(2500)
    }
    const authed = async () => {
      const c = await RawImap.login(server.ports.imap, alice)
      open.push(c)
      const t0 = Date.now()
      const {ms, lines} = await closedAfter(c, t0)
      expect(lines).toEqual(['* BYE Autologout; idle for too long'])
      expect(ms).toBeGreaterThanOrEqual(1400)
      expect(ms).toBeLessThan(3000)
    }
    const idling = async () => {
      const c = await RawImap.login(server.ports.imap, alice)
      open.push(c)
      expect((await c.command('SELECT INBOX')).status).toBe('OK')
      c.writeLine('I1 IDLE')
      expect((await c.next()).text).toBe('+ idling')
      const t0 = Date.now()
      const {ms, lines} = await closedAfter(c, t0)
      expect(lines).toEqual(['* BYE Autologout; idle for too long'])
      expect(ms).toBeGreaterThanOrEqual(1400)
      expect(ms).toBeLessThan(3000)
    }
    const talking = async () => {
      const c = await RawImap.login(server.ports.imap, alice)
      open.push(c)
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 500))
        expect((await c.command('NOOP')).status).toBe('OK')
      }
      expect(c.isClosed).toBe(false)
      await c.logout()
    }
    await Promise.all([preauth(), authed(), idling(), talking()])
  })

  it('a command the server takes longer than the timeout to answer is not cut off by autologout', async () => {
    const c = await RawImap.open(server.ports.imap)
    open.push(c)
    const t0 = Date.now()
    const r = await c.command('LOGIN "alice@example.test" "wrong"')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1300)
    expect(r.untagged).toEqual([])
    expect(r.text).toBe('[AUTHENTICATIONFAILED] Authentication failed')
    // and the timer starts again from the reply
    const {ms, lines} = await closedAfter(c, Date.now())
    expect(lines).toEqual(['* BYE Autologout; idle for too long'])
    expect(ms).toBeGreaterThanOrEqual(900)
  })
})
