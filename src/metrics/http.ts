/**
 * The monitoring listener: `GET /metrics` (Prometheus text format) and `GET /healthz` (200 `ok`,
 * or 503 with one reason per line); any other method or path is 404. With a token configured
 * every request needs `Authorization: Bearer <token>` (401 otherwise, before anything else is
 * looked at); src/metrics/config.ts refuses a listener beyond loopback without one.
 *
 * Bounds on what a client controls: headers within headersTimeoutMs and the whole request within
 * requestTimeoutMs (Node checks both every second here, not its default 30 s), 8 KiB of headers,
 * at most maxConnections sockets (more are closed on accept), and a request body is never read.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {formatListenAddress, listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import {tokensEqual} from '../matcher/token.js'
import type {MetricsConfig} from './config.js'

export interface MetricsHandlers {
  /** the exposition: its content type and text */
  metrics(): Promise<{contentType: string; text: string}>
  /** what is down (empty: healthy) */
  unhealthy(): Promise<string[]>
}

const MAX_HEADER_BYTES = 8192

export class MetricsHttp {
  private server?: Server

  constructor(
    private readonly config: MetricsConfig,
    private readonly handlers: MetricsHandlers,
    private readonly log: Logger,
  ) {}

  get address(): string {
    return formatListenAddress({host: this.config.host, port: this.config.port})
  }

  async start(): Promise<void> {
    const {headersTimeoutMs, requestTimeoutMs, maxConnections} = this.config
    const server = createServer({maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: 1000, headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs}, (req, res) =>
      void this.answer(req, res),
    )
    server.maxConnections = maxConnections
    server.keepAliveTimeout = Math.min(5_000, requestTimeoutMs)
    // an idle keep-alive socket, or one that sends nothing, does not hold a slot for ever
    server.timeout = requestTimeoutMs
    await listenOn(server, 'metrics', {host: this.config.host, port: this.config.port})
    server.on('error', (err) => this.log.warn({err}, 'metrics listener error'))
    this.server = server
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(text)), ...headers})
      res.end(req.method === 'HEAD' ? undefined : text)
    }
    try {
      if (this.config.token !== undefined && !this.authorized(req.headers.authorization)) {
        return send(401, 'a bearer token is required\n', {'WWW-Authenticate': 'Bearer realm="mailbox metrics"'})
      }
      const path = (req.url ?? '').split('?')[0]
      const get = req.method === 'GET' || req.method === 'HEAD'
      if (get && path === '/metrics') {
        const {contentType, text} = await this.handlers.metrics()
        return send(200, text, {'Content-Type': contentType})
      }
      if (get && path === '/healthz') {
        const reasons = await this.handlers.unhealthy()
        return reasons.length ? send(503, reasons.map((r) => `${r}\n`).join('')) : send(200, 'ok\n')
      }
      send(404, 'not found: GET /metrics or /healthz\n')
    } catch (err) {
      this.log.error({err, path: req.url?.slice(0, 100)}, 'metrics request failed')
      if (!res.headersSent) send(500, 'internal error\n')
      else res.destroy()
    }
  }

  private authorized(header: string | undefined): boolean {
    const m = /^Bearer +(\S+)\s*$/i.exec(header ?? '')
    return m !== null && tokensEqual(m[1]!, this.config.token!.trim())
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
  }
}
