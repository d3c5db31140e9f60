/**
 * The HTTP side (src/http/server.ts) in-process, with real sockets: routes asked in order (first
 * reply wins, none is 404, a throw is 500 and logged), the methods (GET, HEAD, POST; others 405),
 * the body bound (413, declared or streamed), the Host as routes see it; HTTPS with the
 * certificate chosen by SNI, and ACME's TLS-ALPN-01 answered on its own context, or refused.
 */
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {connect as netConnect} from 'node:net'
import {connect as tlsConnect, createSecureContext} from 'node:tls'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ServedCertificates} from '../../src/certs/tls-certificates.js'
import {DEFAULT_HTTP_LIMITS} from '../../src/http/limits.js'
import type {HttpRequest, HttpRoute} from '../../src/http/route.js'
import {hostOf, HttpFrontEnd, targetOf} from '../../src/http/server.js'
import {createLogger} from '../../src/log.js'
import {makeCertificate, peerSerial, servedSerial, type TestCertificate} from '../helpers/certificates.js'
import {freePort} from '../helpers/ports.js'
import {until} from '../helpers/until.js'

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function fetchHttp(port: number, options: {method?: string; path?: string; host?: string; body?: string | Buffer; headers?: Record<string, string>; secure?: boolean; servername?: string}): Promise<Answer> {
  const make = options.secure ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = make(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: {Host: options.host ?? 'mail.example.com', ...options.headers},
        agent: false,
        ...(options.secure ? {rejectUnauthorized: false, servername: options.servername ?? 'mail.example.com'} : {}),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body}))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

describe('HttpFrontEnd', () => {
  const seen: HttpRequest[] = []
  const logged: string[] = []
  let front: HttpFrontEnd
  let ports: {http: number; https: number}
  let fallback: TestCertificate
  let mail: TestCertificate
  let challenge: TestCertificate

  const routes: HttpRoute[] = [
    (r) => {
      seen.push(r)
      return undefined
    },
    (r) => (r.path === '/first' ? {status: 200, headers: {'Content-Type': 'text/plain'}, body: 'first'} : undefined),
    (r) => (r.path === '/first' ? {status: 500, body: 'never'} : undefined),
    (r) => (r.path === '/echo' ? {status: 200, headers: {'Content-Type': 'application/octet-stream', 'Cache-Control': 'max-age=60'}, body: r.body} : undefined),
    async (r) => {
      if (r.path === '/throws') throw new Error('route broke')
      return undefined
    },
    (r) => (r.path === '/bad-header' ? {status: 200, headers: {'X-Bad': 'line\r\nbreak'}, body: 'x'} : undefined),
  ]

  beforeAll(async () => {
    ;[fallback, mail, challenge] = await Promise.all([makeCertificate(['localhost']), makeCertificate(['mail.example.com']), makeCertificate(['mail.example.com'])])
    const certificates = new ServedCertificates({key: fallback.keyPem, cert: fallback.certPem})
    certificates.install(mail)
    ports = {http: await freePort(), https: await freePort()}
    const log = createLogger({level: 'debug', pretty: false, write: (line) => void logged.push(line)})
    const challengeContext = createSecureContext({key: challenge.keyPem, cert: challenge.certPem})
    front = new HttpFrontEnd(
      {
        bind: '127.0.0.1',
        ports,
        limits: {...DEFAULT_HTTP_LIMITS, maxRequestBytes: 1000},
        routes,
        certificates,
        acmeTlsAlpn: (servername) => (servername === 'mail.example.com' ? challengeContext : undefined),
      },
      log,
    )
    await front.start()
  })

  afterAll(() => front.stop())

  it('listens on both ports, named http and https', () => {
    expect(front.listeners).toEqual([
      {name: 'http', address: `127.0.0.1:${ports.http}`},
      {name: 'https', address: `127.0.0.1:${ports.https}`},
    ])
  })

  it('asks the routes in order: the first reply wins; none is 404; Content-Length and Cache-Control: no-store added', async () => {
    const first = await fetchHttp(ports.http, {path: '/first?x=1&y=two', host: 'Mail.Example.COM.:80'})
    expect(first).toMatchObject({status: 200, body: 'first', headers: {'content-length': '5', 'cache-control': 'no-store', 'content-type': 'text/plain'}})
    const request = seen.at(-1)!
    expect(request).toMatchObject({method: 'GET', host: 'mail.example.com', path: '/first', secure: false, remoteAddress: '127.0.0.1'})
    expect(Object.fromEntries(request.query)).toEqual({x: '1', y: 'two'})
    expect(request.body).toHaveLength(0)
    expect((await fetchHttp(ports.http, {path: '/nothing'})).status).toBe(404)
  })

  it('POST hands the body to the route; a body over the bound is 413, declared or not; a route given Cache-Control keeps it', async () => {
    const echo = await fetchHttp(ports.http, {method: 'POST', path: '/echo', body: 'x'.repeat(1000)})
    expect(echo).toMatchObject({status: 200, body: 'x'.repeat(1000), headers: {'cache-control': 'max-age=60'}})
    expect((await fetchHttp(ports.http, {method: 'POST', path: '/echo', body: 'x'.repeat(1001)})).status).toBe(413)
    // chunked: no length declared, the bound is counted as it arrives
    const chunked = await fetchHttp(ports.http, {method: 'POST', path: '/echo', body: 'y'.repeat(5000), headers: {'Transfer-Encoding': 'chunked'}})
    expect(chunked.status).toBe(413)
    expect(chunked.headers.connection).toBe('close')
  })

  it('HEAD has the length and no body; PUT, DELETE and OPTIONS are 405 with Allow', async () => {
    const head = await fetchHttp(ports.http, {method: 'HEAD', path: '/first'})
    expect(head).toMatchObject({status: 200, body: '', headers: {'content-length': '5'}})
    for (const method of ['PUT', 'DELETE', 'OPTIONS']) {
      const refused = await fetchHttp(ports.http, {method, path: '/first'})
      expect(refused).toMatchObject({status: 405, headers: {allow: 'GET, HEAD, POST'}})
    }
  })

  it('headers over maxHeaderBytes are 431', async () => {
    expect((await fetchHttp(ports.http, {path: '/first', headers: {'X-Big': 'a'.repeat(DEFAULT_HTTP_LIMITS.maxHeaderBytes)}})).status).toBe(431)
  })

  it('a route that throws is 500, with the error logged; each request is logged at debug', async () => {
    expect((await fetchHttp(ports.http, {path: '/throws'})).status).toBe(500)
    const lines = logged.map((l) => JSON.parse(l))
    expect(lines.find((l) => l.msg === 'an http route failed')).toMatchObject({level: 'error', path: '/throws', err: {message: 'route broke'}})
    expect(lines.find((l) => l.msg === 'http request' && l.path === '/throws')).toMatchObject({level: 'debug', method: 'GET', status: 500})
  })

  it('a reply that cannot be written (a header with a line break) is 500, logged', async () => {
    expect((await fetchHttp(ports.http, {path: '/bad-header'})).status).toBe(500)
    expect(logged.map((l) => JSON.parse(l)).find((l) => l.msg === 'an http reply failed')).toMatchObject({level: 'error', path: '/bad-header'})
  })

  it('HTTPS: the certificate by SNI (the default without), the request marked secure', async () => {
    expect(await servedSerial(ports.https, 'mail.example.com')).toBe(mail.serial)
    expect(await servedSerial(ports.https)).toBe(fallback.serial)
    expect(await servedSerial(ports.https, 'other.example.com')).toBe(fallback.serial)
    expect(await fetchHttp(ports.https, {secure: true, path: '/first'})).toMatchObject({status: 200, body: 'first'})
    expect(seen.at(-1)).toMatchObject({secure: true, path: '/first'})
  })

  it('HTTPS: ALPN acme-tls/1 gets the challenge context and acme-tls/1, then the close; a name without a challenge is refused', async () => {
    const socket = tlsConnect({host: '127.0.0.1', port: ports.https, servername: 'mail.example.com', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false})
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve())
      socket.once('error', reject)
    })
    expect(socket.alpnProtocol).toBe('acme-tls/1')
    expect(peerSerial(socket)).toBe(challenge.serial)
    await new Promise((resolve) => socket.once('close', resolve))
    const refused = tlsConnect({host: '127.0.0.1', port: ports.https, servername: 'nope.example.com', ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false})
    await expect(
      new Promise((resolve, reject) => {
        refused.once('secureConnect', resolve)
        refused.once('error', reject)
      }),
    ).rejects.toThrow()
    refused.destroy()
  })

  it('HTTPS: plain HTTP sent to it is closed without an answer', async () => {
    const socket = netConnect({host: '127.0.0.1', port: ports.https})
    let got = ''
    socket.on('data', (d) => (got += d))
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await new Promise((resolve) => socket.once('close', resolve))
    expect(got).toBe('')
  })
})

describe('the request as routes see it', () => {
  it('Host: lower-case, without port or trailing dot (IPv6 literals kept)', () => {
    expect(hostOf('Mail.Example.COM:8080')).toBe('mail.example.com')
    expect(hostOf('mta-sts.example.com.')).toBe('mta-sts.example.com')
    expect(hostOf('[::1]:443')).toBe('[::1]')
    expect(hostOf(undefined)).toBe('')
  })

  it('the target: path and query, an absolute-form target too, percent-encoding left', () => {
    expect(targetOf('/.well-known/mta-sts.txt')).toMatchObject({path: '/.well-known/mta-sts.txt'})
    expect(targetOf('/mail/config-v1.1.xml?emailaddress=a%40b.test').query.get('emailaddress')).toBe('a@b.test')
    expect(targetOf('http://autoconfig.example.com/a%20b?x=1').path).toBe('/a%20b')
  })
})

describe('HttpFrontEnd bounds', () => {
  it('connections past maxConnections are closed at accept; a request not whole within requestTimeoutMs is 408', async () => {
    const [fallback] = [await makeCertificate(['localhost'])]
    const port = await freePort()
    const front = new HttpFrontEnd(
      {
        bind: '127.0.0.1',
        ports: {http: port, https: 0},
        limits: {...DEFAULT_HTTP_LIMITS, maxConnections: 2, requestTimeoutMs: 300, keepAliveTimeoutMs: 300},
        routes: [],
        certificates: new ServedCertificates({key: fallback!.keyPem, cert: fallback!.certPem}),
      },
      createLogger({level: 'silent'}),
    )
    await front.start()
    const open = (): Promise<{socket: ReturnType<typeof netConnect>; closed: Promise<string>}> =>
      new Promise((resolve) => {
        const socket = netConnect({host: '127.0.0.1', port})
        let got = ''
        socket.on('data', (d) => (got += d))
        socket.on('error', () => {})
        const closed = new Promise<string>((r) => socket.once('close', () => r(got)))
        socket.once('connect', () => resolve({socket, closed}))
      })
    try {
      const a = await open()
      const b = await open()
      const c = await open()
      // the third is over the bound: closed without an answer
      expect(await c.closed).toBe('')
      // a slow request (headers never finished) is answered 408 and closed
      a.socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
      expect(await a.closed).toMatch(/^HTTP\/1\.1 408 /)
      b.socket.destroy()
    } finally {
      await front.stop()
    }
  })
})

describe('HttpFrontEnd bounds over HTTPS', () => {
  async function started(limits: Partial<typeof DEFAULT_HTTP_LIMITS>): Promise<{front: HttpFrontEnd; port: number}> {
    const [fallback] = [await makeCertificate(['localhost'])]
    const port = await freePort()
    const front = new HttpFrontEnd(
      {
        bind: '127.0.0.1',
        ports: {http: 0, https: port},
        limits: {...DEFAULT_HTTP_LIMITS, ...limits},
        routes: [],
        certificates: new ServedCertificates({key: fallback!.keyPem, cert: fallback!.certPem}),
      },
      createLogger({level: 'silent'}),
    )
    await front.start()
    return {front, port}
  }

  it('a request not whole within requestTimeoutMs is 408 over HTTPS too (its HTTP server takes connections handed over, not from a listen)', async () => {
    const {front, port} = await started({requestTimeoutMs: 300, keepAliveTimeoutMs: 300})
    try {
      const socket = tlsConnect({host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false})
      let got = ''
      socket.on('data', (d) => (got += d))
      socket.on('error', () => {})
      const closed = new Promise<string>((r) => socket.once('close', () => r(got)))
      await new Promise((r) => socket.once('secureConnect', r))
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
      // a header line now and then: the connection is never idle, the request never whole
      const drip = setInterval(() => socket.writable && socket.write('X-Slow: y\r\n'), 100)
      try {
        expect(await closed).toMatch(/^HTTP\/1\.1 408 /)
      } finally {
        clearInterval(drip)
      }
    } finally {
      await front.stop()
    }
  })

  it('a ClientHello sent a byte at a time, each within the timeout, is closed once handshakeTimeoutMs has passed since accept', async () => {
    const {front, port} = await started({handshakeTimeoutMs: 400})
    try {
      const socket = netConnect({host: '127.0.0.1', port})
      socket.on('error', () => {})
      await new Promise((r) => socket.once('connect', r))
      const closed = new Promise<void>((r) => socket.once('close', () => r()))
      // a handshake record header that announces 200 bytes, then one byte every 100 ms (20 s in all)
      socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]))
      const drip = setInterval(() => socket.writable && socket.write(Buffer.from([0])), 100)
      const sentAt = Date.now()
      try {
        await closed
        // closed well before the ClientHello could be whole (200 bytes at 10 a second)
        expect(Date.now() - sentAt).toBeLessThan(10_000)
      } finally {
        clearInterval(drip)
      }
    } finally {
      await front.stop()
    }
  })

  it('connections from one address past maxConnectionsPerIp are closed at accept, HTTP and HTTPS counted together', async () => {
    const [fallback] = [await makeCertificate(['localhost'])]
    const ports = {http: await freePort(), https: await freePort()}
    const front = new HttpFrontEnd(
      {bind: '127.0.0.1', ports, limits: {...DEFAULT_HTTP_LIMITS, maxConnectionsPerIp: 2}, routes: [], certificates: new ServedCertificates({key: fallback!.keyPem, cert: fallback!.certPem})},
      createLogger({level: 'silent'}),
    )
    await front.start()
    const open = (port: number) =>
      new Promise<{socket: ReturnType<typeof netConnect>; closed: Promise<void>}>((resolve) => {
        const socket = netConnect({host: '127.0.0.1', port})
        socket.on('error', () => {})
        const closed = new Promise<void>((r) => socket.once('close', () => r()))
        socket.once('connect', () => resolve({socket, closed}))
      })
    try {
      const a = await open(ports.http)
      const b = await open(ports.https)
      const c = await open(ports.https)
      await c.closed
      // a slot given back is free again
      a.socket.destroy()
      await a.closed
      await until(() => front.connectionCount === 1)
      const d = await open(ports.http)
      d.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      const answer = await new Promise<string>((r) => d.socket.once('data', (chunk) => r(String(chunk))))
      expect(answer).toMatch(/^HTTP\/1\.1 404 /)
      b.socket.destroy()
      d.socket.destroy()
    } finally {
      await front.stop()
    }
  })

  it('stop closes an HTTPS connection whose request is still coming, after closeTimeoutMs', async () => {
    const {front, port} = await started({closeTimeoutMs: 200, requestTimeoutMs: 60_000})
    const socket = tlsConnect({host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false})
    socket.on('error', () => {})
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    await new Promise((r) => socket.once('secureConnect', r))
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
    await new Promise((r) => setTimeout(r, 50))
    await front.stop()
    await closed
  })
})
