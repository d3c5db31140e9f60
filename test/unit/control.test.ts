import {mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Bus, type BusEvent} from '../../src/bus.js'
import {connectControl, type ControlClient} from '../../src/control/client.js'
import {MAX_LINE_BYTES, PROTOCOL_VERSION, controlSocketPath, lineSplitter, requestIdOf, type ControlEvent} from '../../src/control/protocol.js'
import {ControlServer} from '../../src/control/server.js'
import {MailboxError} from '../../src/errors.js'
import {createLogger} from '../../src/log.js'
import {codeOfAsync} from '../helpers/errors.js'

const dirs: string[] = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mbx-ctl-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

const STATUS = {running: true, pid: 4242, version: 'test'}
const logged: string[] = []
const log = createLogger({level: 'error', pretty: false, write: (line) => void logged.push(line)})

let dataDir: string
let bus: Bus
let server: ControlServer
let statusMode: 'ok' | 'mailbox-error' | 'crash' | 'order' = 'ok'
/** what ran, in order, while statusMode is 'order': each request, and the first turn of the event loop after the first */
const order: string[] = []
const clients: ControlClient[] = []
let umaskBefore: number

async function client(): Promise<ControlClient> {
  const c = await connectControl(dataDir)
  if (!c) throw new Error('no control server')
  clients.push(c)
  return c
}

/** A raw connection, to send bytes the client would never send; returns line-by-line replies. */
async function raw(): Promise<{socket: Socket; next: () => Promise<any>}> {
  const socket = connect(controlSocketPath(dataDir))
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const lines: string[] = []
  const waiters: ((line: string) => void)[] = []
  socket.on(
    'data',
    lineSplitter(
      (line) => (waiters.length ? waiters.shift()!(line) : lines.push(line)),
      () => {},
    ),
  )
  const next = () =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply within 2 s')), 2000)
      const take = (line: string) => {
        clearTimeout(timer)
        resolve(JSON.parse(line))
      }
      if (lines.length) take(lines.shift()!)
      else waiters.push(take)
    })
  return {socket, next}
}


beforeAll(async () => {
  dataDir = tempDir()
  bus = new Bus()
  bus.handle('server.status', () => {
    if (statusMode === 'mailbox-error') throw new MailboxError('unavailable', 'not now')
    if (statusMode === 'crash') throw new Error('secret internal detail')
    if (statusMode === 'order') {
      if (!order.length) setImmediate(() => order.push('turn'))
      order.push('request')
    }
    return STATUS as never
  })
  // registered on the bus but not exposed on the socket
  bus.handle('auth.verify', () => ({exists: true, disabled: false}))
  server = new ControlServer(bus, controlSocketPath(dataDir), log)
  umaskBefore = process.umask(0o022)
  process.umask(umaskBefore)
  await server.start()
})

afterAll(async () => {
  for (const c of clients) c.close()
  await server.stop()
})

describe('control socket', () => {
  it('answers a call with the bus reply', async () => {
    const c = await client()
    expect(await c.call('server.status', {})).toEqual(STATUS)
  })

  it('the socket file is a socket with mode 0600', () => {
    const st = statSync(controlSocketPath(dataDir))
    expect(st.isSocket()).toBe(true)
    expect(st.mode & 0o777).toBe(0o600)
  })

  it('restores the process umask after creating the socket', () => {
    const current = process.umask(0o022)
    process.umask(current)
    expect(current).toBe(umaskBefore)
  })

  it('matches concurrent replies to their requests', async () => {
    const c = await client()
    const [a, b, p] = await Promise.all([c.call('server.status', {}), c.call('server.status', {}), c.request('ping', {}, PROTOCOL_VERSION)])
    expect(a).toEqual(STATUS)
    expect(b).toEqual(STATUS)
    expect(p).toEqual({pong: true})
  })

  it('an unknown action is an error with code unknown-action', async () => {
    const c = await client()
    expect(await codeOfAsync(c.request('no.such', {}, 1))).toBe('unknown-action')
  })

  it('a bus action that is not exposed is unknown from outside', async () => {
    const c = await client()
    expect(await codeOfAsync(c.request('auth.verify', {address: 'a@x.test'}, 1))).toBe('unknown-action')
  })

  it('a wrong version is an error with code unsupported-version', async () => {
    const c = await client()
    let err: unknown
    try {
      await c.call('server.status', {}, PROTOCOL_VERSION + 1)
    } catch (e) {
      err = e
    }
    expect((err as MailboxError).code).toBe('unsupported-version')
    expect((err as MailboxError).message).toBe(`server.status speaks version 1, not ${PROTOCOL_VERSION + 1}`)
    // and the connection still works
    expect(await c.call('server.status', {})).toEqual(STATUS)
  })

  it('a request without a version is taken as the current version', async () => {
    const {socket, next} = await raw()
    socket.write(JSON.stringify({id: 'x1', action: 'server.status'}) + '\n')
    expect(await next()).toEqual({id: 'x1', ok: true, body: STATUS})
    socket.destroy()
  })

  it('a malformed line gets an error reply and the connection stays usable', async () => {
    const {socket, next} = await raw()
    socket.write('this is not json\n')
    expect(await next()).toEqual({id: null, ok: false, error: {code: 'invalid', message: expect.stringMatching(/malformed request/)}})
    socket.write('{"id": 5}\n') // no action
    expect(await next()).toMatchObject({id: null, ok: false, error: {code: 'invalid'}})
    socket.write('null\n')
    expect(await next()).toMatchObject({id: null, ok: false, error: {code: 'invalid'}})
    socket.write('\n   \n') // blank lines are ignored
    socket.write(JSON.stringify({id: 6, action: 'server.status', version: 1, body: {}}) + '\n')
    expect(await next()).toEqual({id: 6, ok: true, body: STATUS})
    socket.destroy()
  })

  it('a request split across writes is assembled; two in one write are both answered', async () => {
    const {socket, next} = await raw()
    const line = JSON.stringify({id: 7, action: 'ping', version: 1}) + '\n'
    socket.write(line.slice(0, 10))
    await new Promise((r) => setTimeout(r, 20))
    socket.write(line.slice(10) + JSON.stringify({id: 8, action: 'ping', version: 1}) + '\n')
    const replies = [await next(), await next()].sort((a, b) => a.id - b.id)
    expect(replies).toEqual([
      {id: 7, ok: true, body: {pong: true}},
      {id: 8, ok: true, body: {pong: true}},
    ])
    socket.destroy()
  })

  it('requests pipelined in one write each start on their own turn of the event loop, so other work gets between them', async () => {
    const {socket, next} = await raw()
    statusMode = 'order'
    try {
      socket.write(Array.from({length: 20}, (_, i) => JSON.stringify({id: i, action: 'server.status', version: 1, body: {}}) + '\n').join(''))
      for (let i = 0; i < 20; i++) await next()
    } finally {
      statusMode = 'ok'
      socket.destroy()
    }
    // all twenty in one synchronous run would put the event loop's turn after the last one
    expect(order.indexOf('turn')).toBeGreaterThan(0)
    expect(order.indexOf('turn')).toBeLessThan(order.length - 1)
  })

  it('a MailboxError from the handler keeps its code; any other error is internal and logged', async () => {
    const c = await client()
    try {
      statusMode = 'mailbox-error'
      expect(await codeOfAsync(c.call('server.status', {}))).toBe('unavailable')
      statusMode = 'crash'
      let err: unknown
      try {
        await c.call('server.status', {})
      } catch (e) {
        err = e
      }
      expect((err as MailboxError).code).toBe('internal')
      expect((err as MailboxError).message).toBe('internal error') // no detail leaks to the client
      expect(logged.some((l) => l.includes('control action failed') && l.includes('secret internal detail'))).toBe(true)
    } finally {
      statusMode = 'ok'
    }
  })

  it('subscribe streams matching bus events, and only those', async () => {
    const c = await client()
    const got: ControlEvent[] = []
    let resolveAuth!: () => void
    const sawAuth = new Promise<void>((r) => (resolveAuth = r))
    await c.subscribe(['auth.*'], (e) => {
      got.push(e)
      if (e.event === 'auth.failed') resolveAuth()
    })
    bus.publish('server.started', {pid: 1})
    bus.publish('auth.failed', {username: 'u@x.test', remoteAddress: '1.2.3.4', protocol: 'imap', reason: 'bad-credentials'})
    await sawAuth
    expect(got).toEqual([
      {
        event: 'auth.failed',
        time: expect.any(Number),
        body: {username: 'u@x.test', remoteAddress: '1.2.3.4', protocol: 'imap', reason: 'bad-credentials'},
      },
    ])
  })

  it('the subscribe reply lists the patterns; "*" gets everything', async () => {
    const {socket, next} = await raw()
    socket.write(JSON.stringify({id: 1, action: 'subscribe', version: 1, body: {events: ['*']}}) + '\n')
    expect(await next()).toEqual({id: 1, ok: true, body: {subscribed: ['*']}})
    bus.publish('server.stopping', {pid: 9})
    expect(await next()).toEqual({event: 'server.stopping', time: expect.any(Number), body: {pid: 9}})
    socket.destroy()
  })

  it('refuses malformed subscribe patterns with invalid', async () => {
    const c = await client()
    expect(await codeOfAsync(c.request('subscribe', {events: ['AUTH.*']}, 1))).toBe('invalid')
    expect(await codeOfAsync(c.request('subscribe', {events: 'auth.*'}, 1))).toBe('invalid')
    expect(await codeOfAsync(c.request('subscribe', {events: ['auth']}, 1))).toBe('invalid')
    expect(await codeOfAsync(c.request('subscribe', {events: [42]}, 1))).toBe('invalid')
  })

  it('a closed connection drops its bus subscriptions', async () => {
    const listeners = (bus as unknown as {listeners: Map<string, Set<(e: BusEvent) => void>>}).listeners
    const before = listeners.get('server.*')?.size ?? 0
    const c = await client()
    await c.subscribe(['server.*'], () => {})
    expect(listeners.get('server.*')?.size).toBe(before + 1)
    const connections = server.connections
    c.close()
    for (let i = 0; i < 100 && server.connections >= connections; i++) await new Promise((r) => setTimeout(r, 10))
    expect(listeners.get('server.*')?.size ?? 0).toBe(before)
    expect(() => bus.publish('server.started', {pid: 2})).not.toThrow()
  })

  it('a request on a closed client rejects with unavailable', async () => {
    const c = await client()
    c.close()
    expect(c.closed).toBe(true)
    expect(await codeOfAsync(c.call('server.status', {}))).toBe('unavailable')
  })

  it('connectControl resolves undefined when no server listens on the data dir', async () => {
    expect(await connectControl(tempDir())).toBeUndefined()
  })

  it('connectControl resolves undefined for a stale non-socket file', async () => {
    const dir = tempDir()
    writeFileSync(controlSocketPath(dir), '')
    expect(await connectControl(dir)).toBeUndefined()
  })

  it('start replaces a stale socket path; stop closes clients and removes the socket', async () => {
    const dir = tempDir()
    writeFileSync(controlSocketPath(dir), 'stale')
    const b = new Bus()
    b.handle('server.status', () => ({pid: 1}) as never)
    const s = new ControlServer(b, controlSocketPath(dir), log)
    await s.start()
    const c = (await connectControl(dir))!
    expect(await c.call('server.status', {})).toEqual({pid: 1})
    expect(s.connections).toBe(1)
    const closed = new Promise<void>((r) => c.onClose(r))
    await s.stop()
    await closed
    expect(c.closed).toBe(true)
    expect(await connectControl(dir)).toBeUndefined()
  })
})

describe('lineSplitter', () => {
  it('splits on newlines, keeps partial lines for the next chunk, skips blank lines', () => {
    const lines: string[] = []
    const feed = lineSplitter((l) => lines.push(l), () => lines.push('OVERFLOW'))
    feed(Buffer.from('one\ntw'))
    expect(lines).toEqual(['one'])
    feed(Buffer.from('o\n\n  \nthree\nfour'))
    expect(lines).toEqual(['one', 'two', 'three'])
    feed(Buffer.from('\n'))
    expect(lines).toEqual(['one', 'two', 'three', 'four'])
  })

  it('keeps a UTF-8 character that is split across two chunks intact', () => {
    const lines: string[] = []
    const feed = lineSplitter((l) => lines.push(l), () => {})
    const bytes = Buffer.from('{"name":"Jörg 😀"}\n')
    const cut = bytes.indexOf(0xc3) + 1 // inside the two-byte ö
    feed(bytes.subarray(0, cut))
    feed(bytes.subarray(cut))
    const emoji = Buffer.from('😀\n')
    for (let i = 0; i < emoji.length; i++) feed(emoji.subarray(i, i + 1)) // one byte at a time
    expect(lines).toEqual(['{"name":"Jörg 😀"}', '😀'])
  })

  it('calls onOverflow once when a line exceeds the limit, skips the rest of that line, then carries on', () => {
    const lines: string[] = []
    const heads: string[] = []
    const feed = lineSplitter((l) => lines.push(l), (head) => heads.push(head.toString()))
    feed(Buffer.from('{"id":7,'))
    feed(Buffer.alloc(MAX_LINE_BYTES, 'a'))
    feed(Buffer.alloc(1000, 'b')) // still the same line: no second call
    expect(heads).toHaveLength(1)
    expect(requestIdOf(Buffer.from(heads[0]!))).toBe(7)
    feed(Buffer.from('bbb\nok\n'))
    expect(lines).toEqual(['ok'])
  })

  it('takes a line of many megabytes in many chunks in linear time, up to its own limit', () => {
    const lines: string[] = []
    let overflows = 0
    const limit = 40 * 1024 * 1024
    const feed = lineSplitter((l) => lines.push(l), () => overflows++, limit)
    const chunk = Buffer.alloc(64 * 1024, 'x')
    const started = Date.now()
    for (let i = 0; i < 512; i++) feed(chunk) // 32 MiB
    feed(Buffer.from('\n'))
    expect(overflows).toBe(0)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toHaveLength(32 * 1024 * 1024)
    expect(Date.now() - started).toBeLessThan(10_000) // the quadratic splitter took minutes
  })

  it('finds the id at the start of a request line', () => {
    expect(requestIdOf(Buffer.from('{"id":12,"action":"mailstore.inject"'))).toBe(12)
    expect(requestIdOf(Buffer.from(' { "id" : "abc" , "action"'))).toBe('abc')
    expect(requestIdOf(Buffer.from('{"action":"x","id":3}'))).toBeNull()
  })
})

describe('control socket request size', () => {
  const MAX_MESSAGE = 3 * 1024 * 1024
  let sizedDir: string
  let sized: ControlServer

  beforeAll(async () => {
    sizedDir = tempDir()
    const sizedBus = new Bus()
    // stands in for the mailstore: answers with the size of the message it got
    sizedBus.handle('mailstore.inject', (req) => ({id: String(Buffer.from(req.raw, 'base64').length), stored: [], queued: []}))
    sized = new ControlServer(sizedBus, controlSocketPath(sizedDir), log, {maxMessageSize: MAX_MESSAGE})
    await sized.start()
  })
  afterAll(async () => {
    await sized.stop()
  })

  const inject = (c: ControlClient, bytes: number) => c.call('mailstore.inject', {from: 'a@x.test', to: ['b@x.test'], raw: Buffer.alloc(bytes, 'm').toString('base64')})

  it('takes a request carrying a message of the largest allowed size', async () => {
    const c = (await connectControl(sizedDir))!
    clients.push(c)
    expect((await inject(c, MAX_MESSAGE)).id).toBe(String(MAX_MESSAGE))
  })

  it('refuses a longer request with too-large for its id, and the connection carries on', async () => {
    const c = (await connectControl(sizedDir))!
    clients.push(c)
    const err = await inject(c, 2 * MAX_MESSAGE).catch((e: unknown) => e)
    expect((err as MailboxError).code).toBe('too-large')
    expect((err as MailboxError).message).toMatch(/^request too large: more than \d+ bytes \(a message sent through the server may be at most 3145728 bytes: smtp.maxMessageSize\)$/)
    expect((await inject(c, 10)).id).toBe('10')
  })

  it('the default server (no message size) keeps the 1 MiB line limit', async () => {
    const c = await client()
    const err = await c.call('server.status', {pad: 'x'.repeat(MAX_LINE_BYTES)} as never).catch((e: unknown) => e)
    expect((err as MailboxError).code).toBe('too-large')
    expect(await c.call('server.status', {})).toEqual(STATUS)
  })
})
