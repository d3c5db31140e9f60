import {describe, expect, it} from 'vitest'
import {Bus, type BusEvent} from '../../src/bus.js'
import {MailboxError} from '../../src/errors.js'

const status = (pid: number) => ({pid}) as never // server.status replies are opaque to the bus

describe('Bus: call / handle', () => {
  it('call reaches the handler with the body and resolves with its reply', async () => {
    const bus = new Bus()
    const seen: unknown[] = []
    bus.handle('auth.verify', (body) => {
      seen.push(body)
      return {exists: body.address === 'a@x.test', disabled: false}
    })
    expect(await bus.call('auth.verify', {address: 'a@x.test'})).toEqual({exists: true, disabled: false})
    expect(await bus.call('auth.verify', {address: 'b@x.test'})).toEqual({exists: false, disabled: false})
    expect(seen).toEqual([{address: 'a@x.test'}, {address: 'b@x.test'}])
  })

  it('awaits an async handler', async () => {
    const bus = new Bus()
    bus.handle('auth.login', async ({username}) => {
      await new Promise((r) => setTimeout(r, 5))
      return {address: username}
    })
    expect(await bus.call('auth.login', {username: 'u@x.test', password: 'p', remoteAddress: '::1', protocol: 'imap', mechanism: 'PLAIN', tls: 'none'})).toEqual({address: 'u@x.test'})
  })

  it('a handler error rejects the call with that same error', async () => {
    const bus = new Bus()
    const err = new MailboxError('auth-failed', 'invalid credentials')
    bus.handle('auth.login', async () => {
      throw err
    })
    await expect(bus.call('auth.login', {username: 'u', password: 'p', remoteAddress: '', protocol: 'smtp', mechanism: 'LOGIN', tls: 'TLSv1.3'})).rejects.toBe(err)
    bus.handle('auth.verify', () => {
      throw new Error('sync boom')
    })
    await expect(bus.call('auth.verify', {address: 'x'})).rejects.toThrow('sync boom')
  })

  it('refuses a second handler for the same action', () => {
    const bus = new Bus()
    bus.handle('server.status', () => status(1))
    expect(() => bus.handle('server.status', () => status(2))).toThrowError(/server\.status already has a handler/)
  })

  it('a call without a handler rejects', async () => {
    const bus = new Bus()
    expect(bus.has('server.status')).toBe(false)
    await expect(bus.call('server.status', {})).rejects.toThrowError(/no handler for server\.status/)
  })

  it('the returned function unregisters; a new handler can then be registered', async () => {
    const bus = new Bus()
    const off = bus.handle('server.status', () => status(1))
    expect(bus.has('server.status')).toBe(true)
    off()
    expect(bus.has('server.status')).toBe(false)
    await expect(bus.call('server.status', {})).rejects.toThrow(/no handler/)
    bus.handle('server.status', () => status(2))
    expect(await bus.call('server.status', {})).toEqual({pid: 2})
  })

  it("a stale unregister function does not remove a later handler's registration", async () => {
    const bus = new Bus()
    const off = bus.handle('server.status', () => status(1))
    off()
    bus.handle('server.status', () => status(2))
    off() // e.g. an actor stopped twice
    expect(bus.has('server.status')).toBe(true)
    expect(await bus.call('server.status', {})).toEqual({pid: 2})
  })

  it('has() answers only for registered actions', () => {
    const bus = new Bus()
    bus.handle('auth.verify', () => ({exists: false, disabled: false}))
    expect(bus.has('auth.verify')).toBe(true)
    expect(bus.has('auth.login')).toBe(false)
    expect(bus.has('nonsense')).toBe(false)
  })
})

describe('Bus: publish / subscribe', () => {
  const failed = {username: 'u', remoteAddress: '1.2.3.4', protocol: 'imap', reason: 'bad-credentials'} as const

  it('delivers to exact, family and * subscribers, in that order, with event, body and time', () => {
    const bus = new Bus()
    const got: string[] = []
    const events: BusEvent[] = []
    bus.subscribe('*', (e) => got.push('star:' + e.event))
    bus.subscribe('auth.*', (e) => got.push('family:' + e.event))
    bus.subscribe('auth.failed', (e) => {
      got.push('exact:' + e.event)
      events.push(e)
    })
    const before = Date.now()
    bus.publish('auth.failed', failed)
    expect(got).toEqual(['exact:auth.failed', 'family:auth.failed', 'star:auth.failed'])
    expect(events[0]!.body).toEqual(failed)
    expect(events[0]!.time).toBeGreaterThanOrEqual(before)
    expect(events[0]!.time).toBeLessThanOrEqual(Date.now())
  })

  it('does not deliver to other exact names or other families', () => {
    const bus = new Bus()
    const got: string[] = []
    bus.subscribe('auth.succeeded', (e) => got.push('succeeded:' + e.event))
    bus.subscribe('server.*', (e) => got.push('server:' + e.event))
    bus.subscribe('auth.*', (e) => got.push('auth:' + e.event))
    bus.publish('auth.failed', failed)
    bus.publish('server.started', {pid: 42})
    expect(got).toEqual(['auth:auth.failed', 'server:server.started'])
  })

  it('publishing with no subscribers is a no-op', () => {
    const bus = new Bus()
    expect(() => bus.publish('server.stopping', {pid: 1})).not.toThrow()
  })

  it('unsubscribe stops delivery to that listener only', () => {
    const bus = new Bus()
    const a: string[] = []
    const b: string[] = []
    const offA = bus.subscribe('server.*', (e) => a.push(e.event))
    bus.subscribe('server.*', (e) => b.push(e.event))
    bus.publish('server.started', {pid: 1})
    offA()
    bus.publish('server.stopping', {pid: 1})
    expect(a).toEqual(['server.started'])
    expect(b).toEqual(['server.started', 'server.stopping'])
  })

  it('a throwing listener does not stop the others and is reported to onListenerError', () => {
    const bus = new Bus()
    const reported: [string, string][] = []
    bus.onListenerError = (err, event) => reported.push([(err as Error).message, event.event])
    const got: string[] = []
    bus.subscribe('server.started', () => {
      throw new Error('listener broke')
    })
    bus.subscribe('server.started', () => got.push('second exact'))
    bus.subscribe('*', () => got.push('star'))
    bus.publish('server.started', {pid: 7})
    expect(got).toEqual(['second exact', 'star'])
    expect(reported).toEqual([['listener broke', 'server.started']])
  })

  it('by default a throwing listener becomes a process warning, not an exception', async () => {
    const bus = new Bus()
    const warnings: string[] = []
    const onWarning = (w: Error) => warnings.push(w.message)
    process.on('warning', onWarning)
    try {
      bus.subscribe('*', () => {
        throw new Error('kaput')
      })
      expect(() => bus.publish('server.started', {pid: 1})).not.toThrow()
      await new Promise((r) => setImmediate(r))
      await new Promise((r) => setTimeout(r, 10))
      expect(warnings).toContain('bus listener failed: kaput')
    } finally {
      process.off('warning', onWarning)
    }
  })
})
