/**
 * The IMAP front-end actor: listeners on the IMAP port (STARTTLS) and the IMAPS port (TLS from
 * the first byte), connection limits, and the routing of `mailbox.changed` events to the
 * sessions that have that folder selected, and of `mailbox.changed` and `folder.changed` to the
 * user's sessions with NOTIFY set (one bus subscription each for all sessions).
 */
import {createServer, type Server, type Socket} from 'node:net'
import type {Actor, Bus, EventMap, FolderEvent} from '../bus.js'
import {listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import type {ListenerInfo} from '../status.js'
import type {ServedCertificates} from '../certs/tls-certificates.js'
import {ConnectionLimits, slotsForTls, type ConnectionCounts, type ConnectionSlot} from '../connection-limits.js'
import {refuseConnection} from '../socket-close.js'
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
  /** user → sessions with NOTIFY set: they hear of every folder of theirs */
  private readonly notifying = new Map<string, Set<Session>>()
  private unsubscribe?: () => void
  private unsubscribeFolders?: () => void
  /** set by serve's metrics before start: each session reports its commands' latency here */
  commandDone?: (command: string, seconds: number) => void

  constructor(
    private readonly bus: Bus,
    private readonly options: ImapOptions,
    /** IMAPS and STARTTLS ask it at each handshake */
    private readonly tls: ServedCertificates,
    private readonly log: Logger,
  ) {
    this.connectionLimits = new ConnectionLimits(options.limits, [
      ...(options.ports.imap ? ['imap'] : []),
      ...(options.ports.imaps ? ['imaps'] : []),
    ])
  }

  /** the connection limiter's own counts: every connection from accept to the close of its socket */
  get connections(): ConnectionCounts {
    return this.connectionLimits.counts()
  }

  async start(): Promise<void> {
    this.unsubscribe = this.bus.subscribe('mailbox.changed', ({body}) => {
      const {mailboxId, user, kinds} = body as EventMap['mailbox.changed']
      for (const session of this.watchers.get(mailboxId) ?? []) session.folderChanged()
      for (const session of this.notifying.get(user) ?? []) session.mailboxChanged(mailboxId, kinds)
    })
    this.unsubscribeFolders = this.bus.subscribe('folder.changed', ({body}) => {
      const event = body as FolderEvent
      for (const session of this.notifying.get(event.user) ?? []) session.folderEvent(event)
    })
    const {ports} = this.options
    if (ports.imap) {
      const server = createServer((socket) => this.accept(socket, this.connectionLimits.admit(socket, 'imap'), false))
      await this.listen(server, ports.imap, 'imap')
    }
    if (ports.imaps) {
      const server = this.tls.tlsServer({handshakeTimeout: this.options.limits.handshakeTimeoutMs}, (socket) =>
        this.accept(socket, slotOf(socket), true),
      )
      const slotOf = slotsForTls(server, this.connectionLimits, 'imaps', (err) => this.log.debug({err}, 'imaps handshake failed'))
      await this.listen(server, ports.imaps, 'imaps')
    }
  }

  private async listen(server: Server, port: number, name: string): Promise<void> {
    await listenOn(server, name, {host: this.options.bind, port})
    server.on('error', (err) => this.log.warn({err, listener: name}, 'imap listener error'))
    this.servers.push(server)
    this.listeners.push({name, address: `${this.options.bind}:${port}`})
  }

  private accept(socket: Socket, slot: ConnectionSlot, secure: boolean): void {
    socket.setNoDelay(true)
    const ip = socket.remoteAddress ?? ''
    const {limits} = this.options
    if (!slot.accepted) {
      refuseConnection(socket, '* BYE [UNAVAILABLE] Too many connections, try again later\r\n', limits.lingerMs)
      return
    }
    const hooks: SessionHooks = {
      // also released when the TCP socket closes; whichever comes first counts
      closed: (s) => {
        slot.release()
        if (this.sessions.delete(s)) this.log.debug({session: s.id}, 'imap connection closed')
      },
      watch: (s, mailboxId) => this.watch(s, mailboxId),
      notify: (s, on) => this.notify(s, on),
      ...(this.commandDone ? {commandDone: this.commandDone} : {}),
    }
    const session = new Session(
      socket,
      this.bus,
      {hostname: this.options.hostname, allowInsecureAuth: this.options.allowInsecureAuth, limits, tls: this.tls},
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

  private notify(session: Session, on: boolean): void {
    const user = session.user
    if (!user) return
    let set = this.notifying.get(user)
    if (on) {
      if (!set) this.notifying.set(user, (set = new Set()))
      set.add(session)
    } else if (set?.delete(session) && !set.size) this.notifying.delete(user)
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribeFolders?.()
    const closed = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
    for (const session of [...this.sessions]) session.bye('Server shutting down')
    await closed
    this.servers.length = 0
  }
}
