/**
 * The IMAP front-end actor: listeners on the IMAP port (STARTTLS) and the IMAPS port (TLS from
 * the first byte), connection limits, and the routing of `mailbox.changed` events to the
 * sessions that have that folder selected (one bus subscription for all sessions).
 */
import {createServer, type Server, type Socket} from 'node:net'
import {createSecureContext, createServer as createTlsServer, type SecureContext} from 'node:tls'
import type {Actor, Bus} from '../bus.js'
import type {Logger} from '../log.js'
import type {ListenerInfo} from '../status.js'
import type {TlsMaterial} from '../tls.js'
import {ConnectionLimits} from '../connection-limits.js'
import {capabilities} from './capabilities.js'
import type {ImapLimits} from './limits.js'
import {Session, type SessionHooks} from './session.js'

export interface ImapOptions {
  bind: string
  hostname: string
  ports: {imap: number; imaps: number}
  allowInsecureAuth: boolean
  limits: ImapLimits
}

export class ImapFrontEnd implements Actor {
  readonly name = 'imap'
  readonly listeners: ListenerInfo[] = []
  private readonly servers: Server[] = []
  private readonly sessions = new Set<Session>()
  private readonly connectionLimits: ConnectionLimits
  /** folder id → sessions that have it selected */
  private readonly watchers = new Map<number, Set<Session>>()
  private readonly watching = new Map<Session, number>()
  private readonly secureContext: SecureContext
  private unsubscribe?: () => void

  constructor(
    private readonly bus: Bus,
    private readonly options: ImapOptions,
    private readonly tls: TlsMaterial,
    private readonly log: Logger,
  ) {
    this.secureContext = createSecureContext({key: tls.key, cert: tls.cert})
    this.connectionLimits = new ConnectionLimits(options.limits)
  }

  get connections(): number {
    return this.sessions.size
  }

  async start(): Promise<void> {
    this.unsubscribe = this.bus.subscribe('mailbox.changed', ({body}) => {
      const {mailboxId} = body as {mailboxId: number}
      for (const session of this.watchers.get(mailboxId) ?? []) session.folderChanged()
    })
    const {ports} = this.options
    if (ports.imap) await this.listen(createServer((socket) => this.accept(socket, false)), ports.imap, 'imap')
    if (ports.imaps) {
      const server = createTlsServer({key: this.tls.key, cert: this.tls.cert}, (socket) => this.accept(socket, true))
      server.on('tlsClientError', (err) => this.log.debug({err}, 'imaps handshake failed'))
      await this.listen(server, ports.imaps, 'imaps')
    }
  }

  private async listen(server: Server, port: number, name: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, this.options.bind, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (err) => this.log.warn({err, listener: name}, 'imap listener error'))
    this.servers.push(server)
    this.listeners.push({name, address: `${this.options.bind}:${port}`})
  }

  private accept(socket: Socket, secure: boolean): void {
    socket.setNoDelay(true)
    const ip = socket.remoteAddress ?? ''
    const {limits} = this.options
    socket.once('close', () => this.connectionLimits.closed(ip))
    if (!this.connectionLimits.opened(ip)) {
      socket.on('error', () => {})
      socket.end('* BYE [UNAVAILABLE] Too many connections, try again later\r\n')
      return
    }
    const hooks: SessionHooks = {
      closed: (s) => {
        if (this.sessions.delete(s)) this.log.debug({session: s.id}, 'imap connection closed')
      },
      watch: (s, mailboxId) => this.watch(s, mailboxId),
    }
    const session = new Session(
      socket,
      this.bus,
      {hostname: this.options.hostname, allowInsecureAuth: this.options.allowInsecureAuth, limits, secureContext: this.secureContext},
      this.log,
      secure,
      hooks,
    )
    this.sessions.add(session)
    this.log.debug({session: session.id, remote: ip, secure}, 'imap connection')
    session.greet(capabilities(session))
  }

  private watch(session: Session, mailboxId: number | undefined): void {
    const old = this.watching.get(session)
    if (old !== undefined) {
      const set = this.watchers.get(old)
      set?.delete(session)
      if (set?.size === 0) this.watchers.delete(old)
      this.watching.delete(session)
    }
    if (mailboxId === undefined) return
    let set = this.watchers.get(mailboxId)
    if (!set) this.watchers.set(mailboxId, (set = new Set()))
    set.add(session)
    this.watching.set(session, mailboxId)
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    const closed = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
    for (const session of [...this.sessions]) session.bye('Server shutting down')
    await closed
    this.servers.length = 0
  }
}
