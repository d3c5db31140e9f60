/**
 * The dashboard's data sources: Throughput (per-second buckets over a sliding window, with an
 * injected clock) and LiveSource against a real ControlServer on a unix socket in a temp dir
 * (connecting → live, events forwarded, down when the server goes, live again when it is back).
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import type {ControlEvent} from '../../src/control/protocol.js'
import {controlSocketPath} from '../../src/control/protocol.js'
import {ControlServer} from '../../src/control/server.js'
import {createLogger} from '../../src/log.js'
import type {ServerStatus} from '../../src/status.js'
import {LiveSource, type LiveState} from '../../tui/sources/live.js'
import {SERIES, Throughput} from '../../tui/sources/throughput.js'
import {QUIET_AUTH} from '../helpers/status.js'

// ---------------------------------------------------------------------------------------------
// Throughput

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5) // a whole second

describe('Throughput', () => {
  it('maps the four series to their bus events', () => {
    expect(SERIES).toEqual({received: 'mail.received', delivered: 'queue.delivered', deferred: 'queue.deferred', bounced: 'queue.bounced'})
  })

  it('starts with `seconds` zeros per series', () => {
    const t = new Throughput(5, T0)
    for (const s of ['received', 'delivered', 'deferred', 'bounced'] as const) {
      expect(t.values(s, T0)).toEqual([0, 0, 0, 0, 0])
      expect(t.total(s, T0)).toBe(0)
    }
  })

  it('records into the current (last) second of the right series only', () => {
    const t = new Throughput(5, T0)
    t.record('mail.received', T0 + 100)
    t.record('mail.received', T0 + 999)
    t.record('queue.delivered', T0 + 500)
    expect(t.values('received', T0 + 999)).toEqual([0, 0, 0, 0, 2])
    expect(t.values('delivered', T0 + 999)).toEqual([0, 0, 0, 0, 1])
    expect(t.values('deferred', T0 + 999)).toEqual([0, 0, 0, 0, 0])
    expect(t.values('bounced', T0 + 999)).toEqual([0, 0, 0, 0, 0])
  })

  it('slides the window as time passes: counts move left, one bucket per second, and fall off the end', () => {
    const t = new Throughput(5, T0)
    t.record('queue.deferred', T0)
    t.record('queue.deferred', T0 + 1000)
    t.record('queue.deferred', T0 + 1200)
    expect(t.values('deferred', T0 + 1999)).toEqual([0, 0, 0, 1, 2])
    expect(t.values('deferred', T0 + 3000)).toEqual([0, 1, 2, 0, 0])
    expect(t.total('deferred', T0 + 3000)).toBe(3)
    expect(t.values('deferred', T0 + 4000)).toEqual([1, 2, 0, 0, 0])
    expect(t.values('deferred', T0 + 5000)).toEqual([2, 0, 0, 0, 0])
    expect(t.total('deferred', T0 + 5000)).toBe(2)
    expect(t.values('deferred', T0 + 6000)).toEqual([0, 0, 0, 0, 0])
    expect(t.total('deferred', T0 + 6000)).toBe(0)
  })

  it('a gap longer than the window clears everything, and recording continues after it', () => {
    const t = new Throughput(4, T0)
    t.record('queue.bounced', T0)
    t.record('queue.bounced', T0 + 3600_000)
    expect(t.values('bounced', T0 + 3600_000)).toEqual([0, 0, 0, 1])
    expect(t.total('bounced', T0 + 3600_000)).toBe(1)
  })

  it('a record in a later second advances every series, not only its own', () => {
    const t = new Throughput(3, T0)
    t.record('mail.received', T0)
    t.record('queue.delivered', T0 + 2000)
    expect(t.values('received', T0 + 2000)).toEqual([1, 0, 0])
    expect(t.values('delivered', T0 + 2000)).toEqual([0, 0, 1])
  })

  it('totals cover the whole window (120 s by default)', () => {
    const t = new Throughput(undefined, T0)
    expect(t.seconds).toBe(120)
    for (let i = 0; i < 120; i++) t.record('mail.received', T0 + i * 1000)
    expect(t.values('received', T0 + 119_000)).toHaveLength(120)
    expect(t.total('received', T0 + 119_000)).toBe(120)
    expect(t.total('received', T0 + 129_000)).toBe(110)
  })

  it('ignores events that are not one of the series', () => {
    const t = new Throughput(3, T0)
    for (const e of ['mail.stored', 'queue.added', 'queue.sending', 'queue.failed', 'auth.failed', 'server.started', 'received', 'delivered', '*', '']) t.record(e, T0)
    for (const s of ['received', 'delivered', 'deferred', 'bounced'] as const) expect(t.total(s, T0)).toBe(0)
  })
})

// ---------------------------------------------------------------------------------------------
// LiveSource

const dirs: string[] = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mbx-live-'))
  dirs.push(d)
  return d
}
const sources: LiveSource[] = []
const servers: ControlServer[] = []
afterEach(async () => {
  for (const s of sources.splice(0)) s.stop()
  for (const s of servers.splice(0)) await s.stop()
})
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

const log = createLogger({level: 'silent', pretty: false, write: () => {}})

function fakeStatus(dataDir: string, uptimeSeconds: number): ServerStatus {
  return {
    running: true,
    pid: process.pid,
    version: 'test-1',
    hostname: 'mx.test',
    dataDir,
    startedAt: Date.now() - uptimeSeconds * 1000,
    uptimeSeconds,
    listeners: [{name: 'control', address: controlSocketPath(dataDir)}],
    auth: QUIET_AUTH,
    connections: {control: 1},
    counts: {domains: 0, users: 0, aliases: 0, folders: 0, messages: 0, messageBytes: 0, queue: {queued: 0, sending: 0, deferred: 0, held: 0, delivered: 0, failed: 0}},
  }
}

/** A bus answering server.status (uptime = how many status calls so far) and a control server on it. */
async function startServer(dataDir: string, bus = new Bus()): Promise<{bus: Bus; server: ControlServer; calls: () => number}> {
  let calls = 0
  if (!bus.has('server.status')) bus.handle('server.status', () => fakeStatus(dataDir, ++calls))
  const server = new ControlServer(bus, controlSocketPath(dataDir), log)
  await server.start()
  servers.push(server)
  return {bus, server, calls: () => calls}
}

function watch(source: LiveSource): {states: LiveState[]; events: ControlEvent[]; until: (what: string, check: () => boolean, timeoutMs?: number) => Promise<void>} {
  const states: LiveState[] = []
  const events: ControlEvent[] = []
  source.on('state', (s) => states.push(s))
  source.on('event', (e) => events.push(e))
  const until = async (what: string, check: () => boolean, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; states: ${JSON.stringify(states.map((s) => s.kind === 'down' ? `down:${s.reason}` : s.kind))}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }
  return {states, events, until}
}

describe('LiveSource', () => {
  it('goes connecting → live with the server status, and keeps polling it', async () => {
    const dataDir = tempDir()
    const {calls} = await startServer(dataDir)
    const source = new LiveSource(dataDir, 50)
    sources.push(source)
    const w = watch(source)
    expect(source.state).toEqual({kind: 'connecting'})
    expect(source.connection).toBeUndefined()
    source.start()
    expect(source.state.kind).toBe('connecting')
    await w.until('live', () => source.state.kind === 'live')
    const first = w.states.find((s) => s.kind === 'live')!
    expect(first.kind === 'live' && first.status).toMatchObject({running: true, version: 'test-1', hostname: 'mx.test', dataDir, uptimeSeconds: 1})
    expect(source.connection).toBeDefined()
    // self-rescheduling poll: fresh status, no extra states in between
    await w.until('three polls', () => calls() >= 3)
    await w.until('the third status', () => source.state.kind === 'live' && source.state.status.uptimeSeconds >= 3)
    expect(w.states.every((s) => s.kind === 'live')).toBe(true)
  })

  it('forwards every bus event with its name, time and body', async () => {
    const dataDir = tempDir()
    const {bus} = await startServer(dataDir)
    const source = new LiveSource(dataDir, 1000)
    sources.push(source)
    const w = watch(source)
    source.start()
    await w.until('live', () => source.state.kind === 'live')
    const before = Date.now()
    bus.publish('queue.deferred', {id: 'Q1', domain: 'example.net', recipients: ['bob@example.net'], lastError: '451 later'})
    bus.publish('auth.failed', {username: 'eve', remoteAddress: '127.0.0.1', protocol: 'imap', reason: 'bad-credentials'})
    bus.publish('mail.stored', {id: 'M1', user: 'alice@example.com', folder: 'INBOX', uid: 1, uidValidity: 1, from: '', subject: 's', size: 1})
    await w.until('three events', () => w.events.length >= 3)
    expect(w.events.map((e) => e.event)).toEqual(['queue.deferred', 'auth.failed', 'mail.stored'])
    expect(w.events[0]!.body).toEqual({id: 'Q1', domain: 'example.net', recipients: ['bob@example.net'], lastError: '451 later'})
    expect(w.events[0]!.time).toBeGreaterThanOrEqual(before)
    expect(w.events[0]!.time).toBeLessThanOrEqual(Date.now())
  })

  it('goes down when the server stops, and live again (with events) once it is back', async () => {
    const dataDir = tempDir()
    const bus = new Bus()
    const first = await startServer(dataDir, bus)
    const source = new LiveSource(dataDir, 100)
    sources.push(source)
    const w = watch(source)
    source.start()
    await w.until('live', () => source.state.kind === 'live')

    const stoppedAt = Date.now()
    await first.server.stop()
    await w.until('down', () => source.state.kind === 'down')
    const down = source.state as Extract<LiveState, {kind: 'down'}>
    expect(down.reason).toMatch(/connection lost|control connection closed|server not running/)
    expect(down.retryAt).toBeGreaterThan(stoppedAt)
    expect(down.retryAt).toBeLessThanOrEqual(Date.now() + 10_000)
    expect(source.connection).toBeUndefined()
    // while the server is away the retries find nobody
    await w.until('a failed retry', () => w.states.filter((s) => s.kind === 'down').length >= 2)
    expect(w.states.at(-1)).toMatchObject({kind: 'down', reason: 'server not running'})

    const downStates = w.states.length
    const restarted = new ControlServer(bus, controlSocketPath(dataDir), log)
    await restarted.start()
    servers.push(restarted)
    await w.until('live again', () => source.state.kind === 'live', 6000)
    expect(w.states.slice(downStates).some((s) => s.kind === 'live')).toBe(true)
    // the new connection is subscribed again
    const n = w.events.length
    bus.publish('queue.delivered', {id: 'Q2', domain: 'example.net', recipients: ['bob@example.net']})
    await w.until('an event after the reconnect', () => w.events.length > n)
    expect(w.events.at(-1)).toMatchObject({event: 'queue.delivered', body: {id: 'Q2'}})
  })

  it('with no server: down, "server not running", with a retry scheduled in the future', async () => {
    const dataDir = tempDir()
    const source = new LiveSource(dataDir, 100)
    sources.push(source)
    const w = watch(source)
    const before = Date.now()
    source.start()
    await w.until('down', () => source.state.kind === 'down')
    expect(source.state).toMatchObject({kind: 'down', reason: 'server not running'})
    expect((source.state as {retryAt: number}).retryAt).toBeGreaterThan(before)
    expect(source.connection).toBeUndefined()
    expect(w.states.some((s) => s.kind === 'live')).toBe(false)
  })

  it('backs off: the wait between failed retries grows', async () => {
    const dataDir = tempDir()
    const source = new LiveSource(dataDir, 100)
    sources.push(source)
    const w = watch(source)
    source.start()
    await w.until('three failures', () => w.states.length >= 3, 6000)
    const waits = w.states.slice(0, 3).map((s, i) => (s as {retryAt: number}).retryAt - (i === 0 ? 0 : (w.states[i - 1] as {retryAt: number}).retryAt))
    // retryAt[i+1] - retryAt[i] ≈ the next wait: 1000 after 500, 2000 after 1000
    expect(waits[1]).toBeGreaterThanOrEqual(900)
    expect(waits[2]).toBeGreaterThanOrEqual(1900)
    expect(waits[2]).toBeGreaterThan(waits[1]!)
  })

  it('stop(): no more states, and it does not connect to a server started afterwards', async () => {
    const dataDir = tempDir()
    const source = new LiveSource(dataDir, 50)
    sources.push(source)
    const w = watch(source)
    source.start()
    await w.until('down', () => source.state.kind === 'down')
    source.stop()
    const n = w.states.length
    await startServer(dataDir)
    await new Promise((r) => setTimeout(r, 1200))
    expect(w.states.length).toBe(n)
    expect(source.state.kind).toBe('down')
  })
})
