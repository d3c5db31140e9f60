/**
 * Connection slots come back however a connection ends (issue 12, item 5). The exact report: 120
 * connections from one address that send STARTTLS, read the OK and close before the handshake
 * locked that address out of IMAP (the slot was not released once the session had moved onto
 * its TLS socket) while `status` said 0. Also here: a STARTTLS handshake that never comes, and
 * a refused connection whose client never closes, both end within their configured bounds.
 * The status counters checked are the limiter's own (`connections.imap`, `byListener`, `addresses`).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectControl, type ControlClient} from '../../src/control/client.js'
import {runJson} from '../helpers/cli.js'
import {Wire} from './breakoff-client.js'
import {startImapServer, type ImapServer} from './imap-helpers.js'

const HANDSHAKE_MS = 1000
const LINGER_MS = 1000

let server: ImapServer
let control: ControlClient

beforeAll(async () => {
  // the default per-address limit (100) is what the report ran into
  server = await startImapServer({config: {imap: {handshakeTimeoutMs: HANDSHAKE_MS, lingerMs: LINGER_MS}}})
  control = (await connectControl(server.dataDir))!
}, 60_000)

afterAll(async () => {
  control?.close()
  await server?.stop()
})

const imapCounts = async () => {
  const {connections} = await control.call('server.status', {})
  const byListener = connections.byListener ?? {}
  return {imap: connections.imap, byListener: {imap: byListener.imap, imaps: byListener.imaps}, addresses: connections.addresses?.imap}
}

/** polls until no IMAP connection is counted (bounded); returns the last counts */
async function settled(timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  let counts = await imapCounts()
  while (counts.imap !== 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    counts = await imapCounts()
  }
  return counts
}

async function greeted(port: number): Promise<string> {
  const w = (await Wire.open(port))!
  const ok = await w.until(/^\* OK[^\r\n]*\r\n/m)
  await w.breakOff('destroy')
  return ok ? 'served' : 'refused'
}

describe('IMAP slots', () => {
  it('120 connections that close right after STARTTLS OK, from one address: a new connection is still served, status is back to 0', async () => {
    const port = server.ports.imap
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        Array.from({length: 20}, async () => {
          const w = (await Wire.open(port))!
          expect(await w.until(/^\* OK .*\r\n/m)).toBe(true)
          w.send('a STARTTLS\r\n')
          expect(await w.until(/^a OK .*\r\n/m)).toBe(true)
          await w.breakOff('end')
        }),
      )
    }
    const w = (await Wire.open(port))!
    expect(await w.until(/^\* (OK|BYE) [^\r\n]*\r\n/m)).toBe(true)
    w.send(`a LOGIN alice@example.test alice-pw\r\n`)
    expect(await w.until(/^a OK /m, 10_000)).toBe(true)
    await w.breakOff('end')
    const counts = await settled()
    expect(counts).toEqual({imap: 0, byListener: {imap: 0, imaps: 0}, addresses: 0})
    // and `mailbox status --json` says the same
    const status = await runJson<{connections: Record<string, unknown>}>(['status'], {dataDir: server.dataDir})
    expect(status.connections).toMatchObject({imap: 0, byListener: {imap: 0, imaps: 0}, addresses: {imap: 0}})
  }, 60_000)

  it('STARTTLS and then silence: the handshake timeout ends the connection and frees its slot', async () => {
    const w = (await Wire.open(server.ports.imap))!
    await w.until(/^\* OK .*\r\n/m)
    w.send('a STARTTLS\r\n')
    expect(await w.until(/^a OK .*\r\n/m)).toBe(true)
    const started = Date.now()
    await w.breakOff('wait', 10_000)
    expect(w.closed).toBe(true)
    expect(Date.now() - started).toBeLessThan(HANDSHAKE_MS + 4000)
    expect((await settled()).imap).toBe(0)
  }, 30_000)

  it('IMAPS with garbage instead of a ClientHello, and half a handshake: closed, nothing counted', async () => {
    const garbage = (await Wire.open(server.ports.imaps))!
    garbage.send('a LOGIN alice alice-pw\r\n')
    const half = (await Wire.open(server.ports.imaps))!
    half.send(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
    await Promise.all([garbage.breakOff('wait', 10_000), half.breakOff('wait', 10_000)])
    expect([garbage.closed, half.closed]).toEqual([true, true])
    expect((await settled()).imap).toBe(0)
  }, 30_000)
})

describe('refused connections', () => {
  it('a client over the per-address limit that never closes its side is dropped within lingerMs', async () => {
    const limited = await startImapServer({users: [], config: {imap: {maxConnectionsPerIp: 1, lingerMs: LINGER_MS}}})
    const limitedControl = (await connectControl(limited.dataDir))!
    const count = async () => (await limitedControl.call('server.status', {})).connections.imap
    try {
      const held = (await Wire.open(limited.ports.imap))!
      expect(await held.until(/^\* OK /m)).toBe(true)
      // refused, and this client neither reads on nor closes its side: the server must let go by itself
      const refused = (await Wire.open(limited.ports.imap, '127.0.0.1', undefined, true))!
      expect(await refused.until(/^\* BYE \[UNAVAILABLE\] /m)).toBe(true)
      const started = Date.now()
      while ((await count()) !== 1 && Date.now() - started < LINGER_MS + 4000) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(await count()).toBe(1)
      await held.breakOff('end')
      // the refused connection no longer holds the address's only slot
      expect(await greeted(limited.ports.imap)).toBe('served')
      await refused.breakOff('destroy')
    } finally {
      limitedControl.close()
      await limited.stop()
    }
  }, 60_000)
})
