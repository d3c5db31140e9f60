/**
 * The ManageSieve front-end (RFC 5804): one listener with STARTTLS (4190 by convention; off
 * unless `managesieve.port` is set) where users manage their Sieve scripts. Connections past
 * `maxConnections` or `maxConnectionsPerIp` get `BYE (TRYLATER)` and are closed. Everything else
 * happens in one `ManageSieveSession` per connection: logging in goes through the auth actor on
 * the bus, scripts through the store's `sieve` operations.
 */
import {createServer, type Server, type Socket} from 'node:net'
import type {Actor, Bus} from '../bus.js'
import {ConnectionLimits, type ConnectionCounts, type ConnectionSlot} from '../connection-limits.js'
import {newId} from '../ids.js'
import {listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import {refuseConnection} from '../socket-close.js'
import type {ListenerInfo} from '../status.js'
import type {ServedCertificates} from '../certs/tls-certificates.js'
import type {ManageSieveConfig} from './limits.js'
import type {SieveQuota, SieveScripts} from './scripts.js'
import {ManageSieveSession, type SessionContext} from './session.js'
import {response} from './wire.js'

export interface ManageSieveOptions {
  bind: string
  hostname: string
  allowInsecureAuth: boolean
  /** the `managesieve` config section (port and limits), read as it is: a reload assigns into it */
  config: ManageSieveConfig
  sieve: SieveScripts
  quota(): SieveQuota
  maxRedirects(): number
}

const LISTENER = 'managesieve'

export class ManageSieveFrontEnd implements Actor {
  readonly name = 'managesieve'
  private server?: {server: Server; address: string}
  private readonly sessions = new Set<ManageSieveSession>()
  private readonly connectionLimits: ConnectionLimits
  private readonly ctx: SessionContext

  constructor(
    bus: Bus,
    private readonly options: ManageSieveOptions,
    /** STARTTLS asks it at each handshake */
    tls: ServedCertificates,
    private readonly log: Logger,
  ) {
    const {hostname, allowInsecureAuth, config, sieve, quota, maxRedirects} = options
    this.ctx = {bus, hostname, allowInsecureAuth, limits: config, sieve, quota, maxRedirects, tls}
    this.connectionLimits = new ConnectionLimits(config, [LISTENER])
  }

  get listeners(): ListenerInfo[] {
    return this.server ? [{name: LISTENER, address: this.server.address}] : []
  }

  /** the connection limiter's own counts: every connection from accept to the close of its socket */
  get connections(): ConnectionCounts {
    return this.connectionLimits.counts()
  }

  async start(): Promise<void> {
    const {bind, config} = this.options
    if (!config.port) return
    const server = createServer((socket) => this.accept(socket, this.connectionLimits.admit(socket, LISTENER)))
    await listenOn(server, LISTENER, {host: bind, port: config.port})
    server.on('error', (err) => this.log.warn({err}, 'managesieve listener error'))
    this.server = {server, address: `${bind}:${config.port}`}
  }

  /** stops listening, lets running commands finish (bounded), says BYE to every session */
  async stop(): Promise<void> {
    const server = this.server?.server
    const closing = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve()
    await Promise.all([...this.sessions].map((s) => s.shutdown(this.options.config.closeTimeoutMs)))
    await closing
    this.server = undefined
  }

  private accept(socket: Socket, slot: ConnectionSlot): void {
    socket.setNoDelay(true)
    const ip = socket.remoteAddress ?? ''
    if (!slot.accepted) {
      this.log.info({remote: ip, connections: this.connectionLimits.counts().open}, 'managesieve connection refused: too many connections')
      refuseConnection(socket, response('BYE', 'too many connections, try again later', 'TRYLATER'), this.options.config.lingerMs)
      return
    }
    const session = new ManageSieveSession(socket, this.ctx, this.log.child({cid: newId(), remote: ip}))
    this.sessions.add(session)
    void session.closed.then(() => {
      slot.release()
      this.sessions.delete(session)
    })
  }
}
