/**
 * The rspamd client (src/spam/rspamd.ts) and its actor against Debian's rspamd, started once for
 * the file with a local config (test/helpers/rspamd.ts): GTUBE is `reject`, a plain message
 * `no action` with its symbols by score; learning through the controller shows in its /stat and
 * a message learned twice is `known`; a wrong password is a refusal (not retried). Without
 * rspamd: a server that accepts and never answers fails the check open within the timeout, a
 * reply past the size bound fails it, and the connections to one server stay within the pool.
 */
import {createServer as createHttpServer} from 'node:http'
import {createServer, type Server, type Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Bus, type BusEvent} from '../../src/bus.js'
import {silentLogger} from '../../src/log.js'
import {RspamdClient, RspamdError} from '../../src/spam/rspamd.js'
import {RspamdActor} from '../../src/spam/rspamd-actor.js'
import type {RspamdCheckRequest} from '../../src/spam/rspamd-types.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {GTUBE, RSPAMD_AVAILABLE, startRspamd, type RspamdServer} from '../helpers/rspamd.js'

const message = (body: string, subject = 'lunch') =>
  Buffer.from(
    [
      'From: Ann <ann@example.com>',
      'To: Bob <bob@example.org>',
      `Subject: ${subject}`,
      `Message-ID: <${Math.random().toString(36).slice(2)}@example.com>`,
      'Date: Fri, 4 Dec 2026 19:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
    ].join('\r\n'),
  )

const request = (msg: Buffer): RspamdCheckRequest => ({
  message: msg,
  mailFrom: 'ann@example.com',
  rcptTo: ['bob@example.org', 'carl@example.org'],
  remoteAddress: '127.0.0.1',
  helo: 'mail.example.com',
  queueId: 'Q1',
})

const options = {timeoutMs: 5000, maxConnections: 4, maxReplyBytes: 1024 * 1024}

describe.skipIf(missingOutsideCi(RSPAMD_AVAILABLE))('rspamd client against a real rspamd', () => {
  let rspamd: RspamdServer
  let client: RspamdClient

  beforeAll(async () => {
    requireInCi(RSPAMD_AVAILABLE, 'rspamd and redis-server')
    rspamd = await startRspamd()
    client = new RspamdClient({...options, url: rspamd.url, controllerUrl: rspamd.controllerUrl, password: rspamd.password})
  }, 90_000)

  afterAll(async () => {
    client?.close()
    await rspamd?.stop()
  })

  it('GTUBE is reject, with the GTUBE symbol', async () => {
    const reply = await client.check(request(message(`This is spam.\r\n${GTUBE}`)))
    expect(reply.action).toBe('reject')
    expect(reply.symbols).toContain('GTUBE')
    expect(reply.failed).toBeUndefined()
  })

  it('a plain message is no action; its symbols come by score, highest first', async () => {
    const reply = await client.check({...request(message('Shall we have lunch tomorrow at noon?')), remoteAddress: '192.0.2.10'})
    expect(reply.action).toBe('no action')
    expect(reply.score).toBeLessThan(reply.required)
    expect(reply.required).toBeGreaterThan(0)
    expect(reply.symbols.length).toBeGreaterThan(0)
    // RDNS_NONE (1.0: the client has no PTR here) before MIME_GOOD (-0.1)
    expect(reply.symbols.indexOf('RDNS_NONE')).toBeLessThan(reply.symbols.indexOf('MIME_GOOD'))
  })

  it('the actor answers rspamd.check and publishes the action', async () => {
    const bus = new Bus()
    const events: BusEvent[] = []
    bus.subscribe('rspamd.checked', (e) => events.push(e))
    const actor = new RspamdActor(bus, new RspamdClient({...options, url: rspamd.url}), silentLogger)
    await actor.start()
    try {
      const reply = await bus.call('rspamd.check', request(message(GTUBE)))
      expect(reply.action).toBe('reject')
      expect(events.map((e) => (e.body as {action: string}).action)).toEqual(['reject'])
    } finally {
      await actor.stop()
    }
  })

  it('learning through the controller changes its /stat; the same message again is known', async () => {
    const before = (await rspamd.stat()).learned
    const spam = message('Cheap pills, buy now, limited offer, click here today for the best price on everything you want.', 'offer')
    expect(await client.learn('spam', spam)).toBe('learned')
    expect((await rspamd.stat()).learned).toBe(before + 1)
    expect(await client.learn('spam', spam)).toBe('known')
    expect(await client.learn('ham', message('Minutes of the meeting on Tuesday: the budget was approved and the next meeting is in two weeks.'))).toBe('learned')
    expect((await rspamd.stat()).learned).toBe(before + 2)
  })

  it('a wrong controller password is a refusal, marked permanent (not retried)', async () => {
    const wrong = new RspamdClient({...options, controllerUrl: rspamd.controllerUrl, password: 'wrong'})
    try {
      const err = await wrong.learn('spam', message('anything at all')).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RspamdError)
      expect((err as RspamdError).permanent).toBe(true)
      expect((err as Error).message).toMatch(/HTTP 401/)
    } finally {
      wrong.close()
    }
  })
})

describe('rspamd client bounds (no rspamd needed)', () => {
  /** accepts connections and never answers; counts them */
  async function silentServer(): Promise<{server: Server; url: string; open: () => number; close: () => Promise<void>}> {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const {port} = server.address() as {port: number}
    return {
      server,
      url: `http://127.0.0.1:${port}`,
      open: () => sockets.size,
      close: () => {
        for (const s of sockets) s.destroy()
        return new Promise((r) => server.close(() => r()))
      },
    }
  }

  it('a server that accepts and never answers: the check fails within the timeout, the actor fails open and counts it', async () => {
    const silent = await silentServer()
    const bus = new Bus()
    const events: BusEvent[] = []
    bus.subscribe('rspamd.checked', (e) => events.push(e))
    const actor = new RspamdActor(bus, new RspamdClient({...options, timeoutMs: 300, url: silent.url}), silentLogger)
    await actor.start()
    try {
      const reply = await bus.call('rspamd.check', request(message('hello')))
      expect(reply).toMatchObject({action: 'no action', symbols: []})
      expect(reply.failed).toMatch(/no answer from rspamd within 300 ms/)
      expect(events.map((e) => (e.body as {action: string}).action)).toEqual(['failed'])
    } finally {
      await actor.stop()
      await silent.close()
    }
  })

  it('checks beyond maxConnections wait for a connection (and fail in time): the server never sees more', async () => {
    const silent = await silentServer()
    const client = new RspamdClient({...options, timeoutMs: 1000, maxConnections: 2, url: silent.url})
    try {
      let most = 0
      // watched until shortly before the timeouts: then sockets close and queued checks may
      // connect before the server has seen the close (the pool is the client's, not the server's)
      const watch = setInterval(() => (most = Math.max(most, silent.open())), 10)
      const stopWatching = setTimeout(() => clearInterval(watch), 800)
      const results = await Promise.allSettled(Array.from({length: 6}, () => client.check(request(message('hello')))))
      clearTimeout(stopWatching)
      clearInterval(watch)
      expect(results.every((r) => r.status === 'rejected')).toBe(true)
      expect(most).toBe(2)
    } finally {
      client.close()
      await silent.close()
    }
  })

  it('a reply larger than maxReplyBytes fails the check', async () => {
    const big = createHttpServer((_req, res) => {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(`{"action":"no action","score":0,"required_score":15,"symbols":{},"pad":"${'x'.repeat(200_000)}"}`)
    })
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r))
    const client = new RspamdClient({...options, maxReplyBytes: 64 * 1024, url: `http://127.0.0.1:${(big.address() as {port: number}).port}`})
    try {
      await expect(client.check(request(message('hello')))).rejects.toThrow(/larger than 65536 bytes/)
    } finally {
      client.close()
      big.closeAllConnections()
      await new Promise((r) => big.close(r))
    }
  })
})
