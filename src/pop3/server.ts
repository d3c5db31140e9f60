/**
 * The POP3 front-end: POP3 with STLS (default 2110) and POP3S with implicit TLS (2995), both
 * on the user's INBOX. Connections past `maxConnections` (both listeners together) or
 * `maxConnectionsPerIp` get `-ERR [SYS/TEMP]` and are closed. Everything else happens in one
 * `Pop3Session` per connection, which reaches the store only through the bus.
 */
import {createServer as createPlainServer, type Server, type Socket} from 'node:net'
import type {Actor, Bus} from '../bus.js'
import {ConnectionLimits, slotsForTls, type ConnectionCounts, type ConnectionSlot} from '../connection-limits.js'
import {newId} from '../ids.js'
import {listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import type {ListenerInfo} from '../status.js'
import {refuseConnection} from '../socket-close.js'
import type {ServedCertificates} from '../certs/tls-certificates.js'
import type {Pop3Limits} from './limits.js'
import {Pop3Session, type SessionContext} from './session.js'

export interface Pop3Options {
  bind: string
  hostname: string
  ports: {pop3: number; pop3s: number}
  allowInsecureAuth: boolean
  limits: Pop3Limits
}

type Role = 'pop3' | 'pop3s'

export class Pop3FrontEnd implements Actor {
  readonly name = 'pop3'
  private readonly servers: {role: Role; server: Server; address: string}[] = []
  private readonly sessions = new Set<Pop3Session>()
  private readonly connectionLimits: ConnectionLimits
  private readonly ctx: SessionContext

  constructor(
    bus: Bus,
    private readonly options: Pop3Options,
    /** POP3S and STLS ask it at each handshake */
    private readonly tls: ServedCertificates,
    private readonly log: Logger,
  ) {
    this.ctx = {
      bus,
      hostname: options.hostname,
      allowInsecureAuth: options.allowInsecureAuth,
      limits: options.limits,
      tls,
    }
    this.connectionLimits = new ConnectionLimits(options.limits, [
      ...(options.ports.pop3 ? ['pop3'] : []),
      ...(options.ports.pop3s ? ['pop3s'] : []),
    ])
  }

  get listeners(): ListenerInfo[] {
    return this.servers.map(({role, address}) => ({name: role, address}))
  }

  /** the connection limiter's own counts: every connection from accept to the close of its socket */
  get connections(): ConnectionCounts {
    return this.connectionLimits.counts()
  }

  async start(): Promise<void> {
    const {ports, bind, limits} = this.options
    for (const [role, port] of [['pop3', ports.pop3] as const, ['pop3s', ports.pop3s] as const]) {
      if (!port) continue
      let server: Server
      if (role === 'pop3') {
        server = createPlainServer((socket) => this.accept(socket, this.connectionLimits.admit(socket, role), false))
      } else {
        // a client that never finishes the handshake does not hold a slot for the idle timeout
        const tlsServer = this.tls.tlsServer({handshakeTimeout: limits.handshakeTimeoutMs}, (socket) =>
          this.accept(socket, slotOf(socket), true),
        )
        const slotOf = slotsForTls(tlsServer, this.connectionLimits, role, (err) => this.log.debug({err: err.message}, 'pop3s handshake failed'))
        server = tlsServer
      }
      await listenOn(server, role, {host: bind, port})
      server.on('error', (err) => this.log.warn({err, role}, 'pop3 listener error'))
      this.servers.push({role, server, address: `${bind}:${port}`})
    }
  }

  /** stops listening, lets running commands finish (bounded), closes every session; nothing is deleted but what QUIT committed */
  async stop(): Promise<void> {
    const closing = this.servers.map(({server}) => new Promise<void>((resolve) => server.close(() => resolve())))
    await Promise.all([...this.sessions].map((s) => s.shutdown(this.options.limits.closeTimeoutMs)))
    await Promise.all(closing)
    this.servers.length = 0
  }

  private accept(socket: Socket, slot: ConnectionSlot, implicitTls: boolean): void {
    socket.setNoDelay(true)
    const ip = socket.remoteAddress ?? ''
    if (!slot.accepted) {
      this.log.info({remote: ip, connections: this.connectionLimits.counts().open}, 'pop3 connection refused: too many connections')
      refuseConnection(socket, '-ERR [SYS/TEMP] too many connections, try again later\r\n', this.options.limits.lingerMs)
      return
    }
    const session = new Pop3Session(socket, implicitTls, this.ctx, this.log.child({cid: newId(), remote: ip}))
    this.sessions.add(session)
    void session.closed.then(() => {
      slot.release()
      this.sessions.delete(session)
    })
  }
}
