/**
 * The monitoring listener's bounds (src/metrics/http.ts) on a real socket: a client that never
 * finishes its headers is cut off after headersTimeoutMs, connections past maxConnections are
 * closed on accept, oversized headers are refused; and what /healthz reports (src/metrics/health.ts):
 * a listener that stopped listening and a store that cannot answer, by name.
 */
import {createServer, connect, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {checkMetricsAccess, DEFAULT_METRICS, type MetricsConfig} from '../../src/metrics/config.js'
import {unhealthy} from '../../src/metrics/health.js'
import {MetricsHttp} from '../../src/metrics/http.js'
import {listenOn} from '../../src/listen.js'
import {silentLogger} from '../../src/log.js'
import type {MailboxStore} from '../../src/store/backend.js'
import {freePort} from '../helpers/ports.js'
import {tempStore} from '../helpers/store.js'

const open: {stop(): Promise<void>}[] = []
afterEach(async () => {
  for (const o of open.splice(0)) await o.stop()
})

async function listener(config: Partial<MetricsConfig> = {}): Promise<{port: number}> {
  const port = await freePort()
  const http = new MetricsHttp({...DEFAULT_METRICS, port, ...config}, {metrics: async () => ({contentType: 'text/plain', text: 'm 1\n'}), unhealthy: async () => []}, silentLogger)
  await http.start()
  open.push(http)
  return {port}
}

/** what the server sent before it closed the connection, and how long that took */
function untilClosed(socket: Socket): Promise<{text: string; ms: number}> {
  const started = Date.now()
  let text = ''
  socket.on('data', (d) => (text += d))
  return new Promise((resolve) => socket.on('close', () => resolve({text, ms: Date.now() - started})))
}

const connected = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })

describe('the metrics listener bounds what a client controls', () => {
  it('headers that never end: cut off after headersTimeoutMs (slowloris)', async () => {
    const {port} = await listener({headersTimeoutMs: 500, requestTimeoutMs: 1000})
    const slow = await connected(port)
    slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n')
    const {text, ms} = await untilClosed(slow)
    expect(text).toMatch(/^HTTP\/1\.1 408/)
    expect(ms).toBeLessThan(5_000)
  })

  it('connections past maxConnections are closed at once; the others are served', async () => {
    const {port} = await listener({maxConnections: 2})
    const held = [await connected(port), await connected(port)]
    const extra = await connected(port)
    expect((await untilClosed(extra)).text).toBe('')
    held[0]!.write('GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect((await untilClosed(held[0]!)).text).toMatch(/^HTTP\/1\.1 200[^]*\r\n\r\nm 1\n$/)
    held[1]!.destroy()
  })

  it('headers over 8 KiB are refused', async () => {
    const {port} = await listener()
    const s = await connected(port)
    s.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`)
    expect((await untilClosed(s)).text).toMatch(/^HTTP\/1\.1 431/)
  })
})

describe('healthz reasons', () => {
  it('names a listener that no longer listens, and is empty while all are up', async () => {
    const store = tempStore()
    const server = createServer()
    await listenOn(server, 'test-listener', {host: '127.0.0.1', port: await freePort()})
    const sources = {store, listeners: () => ['test-listener'], commitFailure: () => undefined, stopping: () => false}
    expect(await unhealthy(sources)).toEqual([])
    await new Promise((r) => server.close(r))
    expect(await unhealthy(sources)).toEqual(['listener test-listener is not listening'])
    expect(await unhealthy({...sources, listeners: () => ['never-bound']})).toEqual(['listener never-bound is not listening'])
  })

  it('names a store that fails to answer, a failed commit, and a shutdown', async () => {
    const broken = {stats: () => Promise.reject(new Error('The environment is already closed.'))} as unknown as MailboxStore
    const reasons = await unhealthy({store: broken, listeners: () => [], commitFailure: () => new Error('Commit failed'), stopping: () => true})
    expect(reasons).toEqual(['shutting down', 'store: the last commit failed (Commit failed)', 'store: The environment is already closed.'])
  })
})

describe('checkMetricsAccess', () => {
  const config = (o: Partial<MetricsConfig>): MetricsConfig => ({...DEFAULT_METRICS, port: 9154, ...o})
  it('loopback needs no token; beyond it one is required; off is never refused', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) expect(() => checkMetricsAccess(config({host}))).not.toThrow()
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) expect(() => checkMetricsAccess(config({host}))).toThrow(/beyond loopback: set metrics\.token/)
    expect(() => checkMetricsAccess(config({host: '0.0.0.0', token: 'a-long-enough-token'}))).not.toThrow()
    expect(() => checkMetricsAccess(config({host: '0.0.0.0', port: 0}))).not.toThrow()
  })
})
