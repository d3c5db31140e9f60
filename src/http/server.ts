/**
 * The HTTP side of `serve`: the HTTP listener (`ports.http`, 80 with standardPorts) and the
 * HTTPS listener (`ports.https`, 443), both off unless a port is set. Node's own `http` parser,
 * no framework: the answers come from routes (./route.ts), asked in order (./routes-of.ts); the
 * first reply wins, none is 404. GET, HEAD and POST only (others 405); a body over
 * `http.maxRequestBytes` is 413 and the connection closes; a route that throws is 500 and logged.
 * Each request is logged at debug.
 *
 * HTTPS accepts plain TCP and peeks at the ClientHello first (bounded: 16 KiB and
 * `handshakeTimeoutMs`, ./client-hello.ts). A client offering ALPN `acme-tls/1` is ACME's
 * TLS-ALPN-01 validation (RFC 8737): `acmeTlsAlpn(servername)` gives the challenge certificate's
 * context, the handshake completes on it and the connection closes; without one it is refused.
 * Any other client gets a TLS socket whose certificate is chosen by SNI from the served
 * certificates (../certs/tls-certificates.ts), and, once the handshake is done, the HTTP server.
 */
import {createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse} from 'node:http'
import {createServer as createNetServer, type Server as NetServer, type Socket} from 'node:net'
import {TLSSocket, type SecureContext} from 'node:tls'
import type {Actor} from '../bus.js'
import type {TlsCertificates} from '../certs/types.js'
import {ConnectionLimits} from '../connection-limits.js'
import {listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import type {ListenerInfo} from '../status.js'
import {MAX_CLIENT_HELLO_BYTES, readClientHello} from './client-hello.js'
import type {HttpLimits} from './limits.js'
import type {HttpReply, HttpRequest, HttpRoute} from './route.js'

export interface HttpServerOptions {
  bind: string
  /** 0 = that listener is off */
  ports: {http: number; https: number}
  /** read at each request and connection (the object may be the config's own) */
  limits: HttpLimits
  /** asked in order; the first reply answers */
  routes: readonly HttpRoute[]
  /** the HTTPS certificate by SNI (the same object every TLS listener asks) */
  certificates: TlsCertificates
  /** TLS-ALPN-01 (ACME): the challenge certificate's context for `servername`, or undefined to refuse the handshake */
  acmeTlsAlpn?: (servername: string) => SecureContext | undefined
}

export const ALLOWED_METHODS = ['GET', 'HEAD', 'POST'] as const
const ACME_TLS_ALPN = 'acme-tls/1'

/** the Host header's name: lower-case, without the port or a trailing dot */
export function hostOf(header: string | undefined): string {
  if (!header) return ''
  let host = header.trim().toLowerCase()
  if (host.startsWith('[')) host = host.slice(0, host.indexOf(']') + 1)
  else if (host.includes(':')) host = host.slice(0, host.lastIndexOf(':'))
  return host.replace(/\.$/, '')
}

/** the request target's path and query (an absolute-form target too) */
export function targetOf(url: string | undefined): {path: string; query: URLSearchParams} {
  let target = url || '/'
  if (/^https?:\/\//i.test(target)) {
    try {
      const parsed = new URL(target)
      target = `${parsed.pathname}${parsed.search}`
    } catch {
      target = '/'
    }
  }
  const q = target.indexOf('?')
  return {path: q < 0 ? target : target.slice(0, q), query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1))}
}

const plainReply = (status: number, text: string, headers: Record<string, string> = {}): HttpReply => ({status, headers: {'Content-Type': 'text/plain; charset=utf-8', ...headers}, body: `${text}\n`})

export class HttpFrontEnd implements Actor {
  readonly name = 'http'
  readonly listeners: ListenerInfo[] = []
  private readonly servers: {http: HttpServer; accept?: NetServer}[] = []
  /** raw sockets of the HTTPS listener still being peeked at or shaking hands */
  private readonly pending = new Set<Socket>()
  private open = 0
  /** per remote address, both listeners together (each listener's own total is its maxConnections) */
  private readonly perIp: ConnectionLimits

  constructor(
    private readonly options: HttpServerOptions,
    private readonly log: Logger,
  ) {
    this.perIp = new ConnectionLimits({maxConnections: Number.MAX_SAFE_INTEGER, maxConnectionsPerIp: options.limits.maxConnectionsPerIp})
  }

  async start(): Promise<void> {
    const {ports} = this.options
    if (ports.http) {
      const server = this.httpServer(false)
      server.maxConnections = this.options.limits.maxConnections
      await this.listen(server, 'http', ports.http)
      this.servers.push({http: server})
    }
    if (ports.https) {
      const http = this.httpServer(true)
      // this server never listens itself (it is handed connections once their handshake is
      // done), and node:http starts tracking connections, the one thing that enforces
      // requestTimeout and headersTimeout and lets closeAllConnections() reach them, only at
      // 'listening': without it a client that completes the handshake could send its headers
      // a byte at a time for ever, and stop() would wait on that connection for ever
      http.emit('listening')
      const accept = createNetServer({noDelay: true}, (socket) => this.acceptTls(socket, http))
      accept.maxConnections = this.options.limits.maxConnections
      await this.listen(accept, 'https', ports.https)
      this.servers.push({http, accept})
    }
  }

  /** open connections (HTTP and HTTPS, from accept to close), for `status` */
  get connectionCount(): number {
    return this.open
  }

  /** stops accepting, lets requests being answered finish (closeTimeoutMs), then closes every connection */
  async stop(): Promise<void> {
    const closing = this.servers.map(({http, accept}) => {
      const closed = [new Promise<void>((resolve) => http.close(() => resolve()))]
      if (accept) closed.push(new Promise<void>((resolve) => accept.close(() => resolve())))
      http.closeIdleConnections()
      return Promise.all(closed)
    })
    for (const socket of this.pending) socket.destroy()
    const timer = setTimeout(() => {
      for (const {http} of this.servers) http.closeAllConnections()
    }, this.options.limits.closeTimeoutMs).unref()
    await Promise.all(closing)
    clearTimeout(timer)
    this.servers.length = 0
  }

  private async listen(server: NetServer, name: string, port: number): Promise<void> {
    server.on('connection', (socket: Socket) => {
      this.open++
      socket.once('close', () => this.open--)
      if (!this.perIp.admit(socket, name).accepted) {
        this.log.debug({remote: socket.remoteAddress, listener: name}, 'http connection refused: maxConnectionsPerIp')
        socket.destroy()
      }
    })
    await listenOn(server, name, {host: this.options.bind, port})
    server.on('error', (err) => this.log.warn({err, listener: name}, 'http listener error'))
    this.listeners.push({name, address: `${this.options.bind}:${port}`})
  }

  private httpServer(secure: boolean): HttpServer {
    const {limits} = this.options
    const server = createHttpServer(
      {
        maxHeaderSize: limits.maxHeaderBytes,
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: Math.min(limits.requestTimeoutMs, 60_000),
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // node checks its timers this often: a tenth of the shortest bound, at least 100 ms
        connectionsCheckingInterval: Math.max(100, Math.min(limits.requestTimeoutMs, limits.keepAliveTimeoutMs) / 10),
      },
      (req, res) =>
        void this.answer(req, res, secure).catch((err: unknown) => {
          // a reply that cannot be written (a route's bad status or header): 500 if nothing went out yet
          this.log.error({err, method: req.method, path: targetOf(req.url).path}, 'an http reply failed')
          if (!res.headersSent) this.send(res, req.method ?? 'GET', plainReply(500, 'internal server error'))
          else res.destroy()
        }),
    )
    return server
  }

  /** HTTPS: the ClientHello first (bounded), then ACME's TLS-ALPN-01 or a normal handshake */
  private acceptTls(socket: Socket, http: HttpServer): void {
    const {limits} = this.options
    this.pending.add(socket)
    socket.on('close', () => this.pending.delete(socket))
    socket.on('error', () => socket.destroy())
    // from accept, not from the last byte (socket.setTimeout is an idle timeout: a byte now and
    // then would hold the connection, and one of the maxConnections, for ever)
    const deadline = setTimeout(() => socket.destroy(), limits.handshakeTimeoutMs).unref()
    socket.once('close', () => clearTimeout(deadline))
    let seen = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk])
      const read = readClientHello(seen)
      if (read.state === 'incomplete' && seen.length < MAX_CLIENT_HELLO_BYTES + 5 * 4) return
      socket.off('data', onData)
      socket.pause()
      socket.unshift(seen)
      if (read.state !== 'complete') {
        this.log.debug({remote: socket.remoteAddress}, 'https connection closed: no TLS ClientHello')
        socket.destroy()
        return
      }
      const {servername, alpn} = read.hello
      if (alpn.includes(ACME_TLS_ALPN)) this.answerTlsAlpn(socket, servername)
      else this.handshake(socket, http, deadline)
    }
    socket.on('data', onData)
  }

  private answerTlsAlpn(socket: Socket, servername: string | undefined): void {
    const context = servername ? this.options.acmeTlsAlpn?.(servername) : undefined
    this.log.debug({remote: socket.remoteAddress, servername, answered: Boolean(context)}, 'acme-tls/1 validation')
    if (!context) {
      socket.destroy()
      return
    }
    const tls = new TLSSocket(socket, {isServer: true, secureContext: context, ALPNProtocols: [ACME_TLS_ALPN]})
    tls.on('error', () => tls.destroy())
    tls.once('secure', () => tls.end())
  }

  private handshake(socket: Socket, http: HttpServer, deadline: NodeJS.Timeout): void {
    const {certificates} = this.options
    const tls = new TLSSocket(socket, {isServer: true, secureContext: certificates.defaultContext(), SNICallback: certificates.sniCallback, ALPNProtocols: ['http/1.1']})
    const failed = (err: Error) => {
      this.log.debug({remote: socket.remoteAddress, reason: err.message}, 'https handshake failed')
      tls.destroy()
    }
    tls.on('error', failed)
    tls.once('secure', () => {
      tls.off('error', failed)
      clearTimeout(deadline)
      this.pending.delete(socket)
      http.emit('connection', tls)
    })
  }

  private async answer(req: IncomingMessage, res: ServerResponse, secure: boolean): Promise<void> {
    const started = process.hrtime.bigint()
    const method = req.method ?? 'GET'
    const {path, query} = targetOf(req.url)
    const host = hostOf(req.headers.host)
    const remoteAddress = req.socket.remoteAddress ?? ''
    let reply: HttpReply
    if (!(ALLOWED_METHODS as readonly string[]).includes(method)) {
      reply = plainReply(405, 'method not allowed', {Allow: ALLOWED_METHODS.join(', ')})
      req.resume()
    } else {
      const body = await this.readBody(req)
      if (body === 'too-large') {
        reply = plainReply(413, 'request body too large')
        res.shouldKeepAlive = false
      } else if (body === 'aborted') {
        return
      } else {
        reply = await this.route({method, host, path, query, headers: req.headers, body, secure, remoteAddress})
      }
    }
    const bytes = this.send(res, method, reply)
    this.log.debug({method, host, path, status: reply.status, bytes, ms: Number(process.hrtime.bigint() - started) / 1e6, remote: remoteAddress, secure}, 'http request')
  }

  /** the body, at most maxRequestBytes (a larger one is refused before it is read, when its length is declared) */
  private readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | 'aborted'> {
    const max = this.options.limits.maxRequestBytes
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > max) return Promise.resolve('too-large')
    return new Promise((resolve) => {
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > max) {
          req.removeAllListeners('data')
          req.pause()
          resolve('too-large')
        } else chunks.push(chunk)
      })
      req.on('end', () => resolve(Buffer.concat(chunks)))
      req.on('aborted', () => resolve('aborted'))
      req.on('error', () => resolve('aborted'))
    })
  }

  private async route(request: HttpRequest): Promise<HttpReply> {
    for (const route of this.options.routes) {
      try {
        const reply = await route(request)
        if (reply) return reply
      } catch (err) {
        this.log.error({err, method: request.method, host: request.host, path: request.path}, 'an http route failed')
        return plainReply(500, 'internal server error')
      }
    }
    return plainReply(404, 'not found')
  }

  /** writes the reply; returns the body's length */
  private send(res: ServerResponse, method: string, reply: HttpReply): number {
    const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body)
    const headers: Record<string, string> = {...reply.headers}
    const given = new Set(Object.keys(headers).map((h) => h.toLowerCase()))
    if (!given.has('cache-control')) headers['Cache-Control'] = 'no-store'
    headers['Content-Length'] = String(body.length)
    if (!res.shouldKeepAlive) headers.Connection = 'close'
    res.writeHead(reply.status, headers)
    res.end(method === 'HEAD' ? undefined : body)
    return body.length
  }
}
