/**
 * One POP3 connection: AUTHORIZATION → TRANSACTION → UPDATE (RFC 1939 §3).
 *
 * Commands run one at a time, in order: while one runs the socket is paused, and a client that
 * does not read its replies is waited for (`drain`) before the next command, so a pipelining
 * client (RFC 2449 PIPELINING) costs at most one line batch in and about one message out.
 * What each command does is in commands.ts; this file owns the socket, the state, STLS, the
 * idle timer, logging in (`auth.login`, then the INBOX snapshot from `mailstore.view`) and the
 * batched `\Seen` updates after RETR.
 *
 * Deletions only ever happen in QUIT's UPDATE step: a timeout, a dropped connection or a server
 * stop just closes the socket.
 */
import type {Socket} from 'node:net'
import type {TLSSocketOptions} from 'node:tls'
import type {Bus, LoginMechanism} from '../bus.js'
import {CommandRunner} from '../command-runner.js'
import {isMailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import {closeWithin} from '../socket-close.js'
import {settledWithin, startServerTls} from '../session-socket.js'
import {tlsLabel} from '../tls-label.js'
import {COMMANDS} from './commands.js'
import {LineSplitter, type Line} from './lines.js'
import type {Pop3Limits} from './limits.js'
import {Maildrop, type DropEntry} from './maildrop.js'
import {crlfInfo, crlfInfoOfSize, type CrlfInfo} from '../mime/crlf.js'

export type State = 'authorization' | 'transaction' | 'update' | 'closed'

/** what every session of one front-end shares */
export interface SessionContext {
  bus: Bus
  hostname: string
  allowInsecureAuth: boolean
  limits: Pop3Limits
  /** what STLS/STARTTLS wraps the socket with: the certificates current at the handshake */
  tls: {socketOptions(): TLSSocketOptions}
}

export class Pop3Session {
  state: State = 'authorization'
  /** TLS from the start (POP3S) or after STLS */
  secure: boolean
  /** the name given by USER, waiting for PASS */
  pendingUser?: string
  /** the logged-in user */
  user?: string
  drop?: Maildrop
  /** set by AUTH PLAIN: the next line is its response, not a command */
  continuation?: (line: string) => Promise<void>
  readonly remoteAddress: string
  readonly closed: Promise<void>

  private socket: Socket
  private readonly splitter: LineSplitter
  private readonly commands = new CommandRunner<Line>({
    socket: () => this.socket,
    live: () => this.state !== 'closed' && !this.stopping,
    handle: (line) => this.handle(line),
    failed: (err) => {
      this.log.error({err}, 'pop3 command failed')
      this.err('[SYS/TEMP] internal error')
    },
  })
  private stopping = false
  private badCommands = 0
  private readonly seenQueue = new Set<number>()
  private seenFlush?: Promise<void>
  private markClosed!: () => void

  constructor(
    socket: Socket,
    implicitTls: boolean,
    readonly ctx: SessionContext,
    readonly log: Logger,
  ) {
    this.socket = socket
    this.secure = implicitTls
    this.remoteAddress = socket.remoteAddress ?? ''
    this.splitter = new LineSplitter(ctx.limits.maxLineLength)
    this.closed = new Promise((resolve) => (this.markClosed = resolve))
    this.attach(socket)
    // no APOP, so no <timestamp> in the greeting (RFC 1939 §7): clients must not try it
    this.write(`+OK ${ctx.hostname} POP3 server ready\r\n`)
  }

  /** plaintext passwords are accepted only over TLS unless the configuration allows them */
  get authAllowed(): boolean {
    return this.secure || this.ctx.allowInsecureAuth
  }

  get canStartTls(): boolean {
    return !this.secure && this.state === 'authorization'
  }

  private attach(socket: Socket): void {
    this.commands.listen(
      socket,
      this.ctx.limits.idleTimeoutMs,
      {
        data: (chunk) => this.onData(chunk),
        // RFC 1939 §3: close without a response and without removing anything
        idle: () => socket.destroy(),
        close: () => this.onClose(),
      },
      this.log,
    )
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.stopping) return
    this.commands.queue.push(...this.splitter.push(chunk))
    this.commands.kick()
  }

  private async handle(line: Line): Promise<void> {
    if (line.kind === 'too-long') {
      this.continuation = undefined
      return this.bad(`line too long (limit ${this.ctx.limits.maxLineLength} bytes)`)
    }
    const text = line.text.toString('utf8')
    const continuation = this.continuation
    if (continuation) {
      this.continuation = undefined
      return continuation(text)
    }
    const space = text.indexOf(' ')
    const verb = (space === -1 ? text : text.slice(0, space)).toUpperCase()
    // PASS keeps its argument whole: RFC 1939 §7 lets a password contain spaces
    const arg = space === -1 ? '' : verb === 'PASS' ? text.slice(space + 1) : text.slice(space + 1).trim()
    if (this.log.level === 'trace') this.log.trace({verb, state: this.state}, 'command')
    const command = COMMANDS.get(verb)
    if (!command) return this.bad(`unknown command ${JSON.stringify(verb.slice(0, 20))}`)
    if (!command.states.includes(this.state)) return this.bad(`${verb} is not valid in the ${this.state.toUpperCase()} state`)
    await command.run(this, arg)
  }

  /** `-ERR`, counted: a client that keeps getting them is closed */
  bad(text: string): void {
    this.err(text)
    if (++this.badCommands >= this.ctx.limits.maxBadCommands) {
      this.err('too many bad commands, closing')
      this.end()
    }
  }

  write(data: string | Buffer, cb?: (err?: Error | null) => void): void {
    if (this.socket.destroyed || this.socket.writableEnded) return cb?.(new Error('closed'))
    this.socket.write(data, cb)
  }

  ok(text = ''): void {
    this.write(text ? `+OK ${text}\r\n` : '+OK\r\n')
  }

  err(text: string): void {
    this.write(`-ERR ${text}\r\n`)
  }

  /** a multi-line response: the +OK line, the lines (already CRLF-terminated and byte-stuffed), the final dot */
  multiline(head: string, body: Buffer | string, sent?: () => void): void {
    this.socket.cork()
    this.write(`+OK ${head}\r\n`)
    if (body.length) this.write(body)
    this.write('.\r\n', sent && ((err) => !err && sent()))
    this.socket.uncork()
  }

  /** closes after what was written has been sent (within `lingerMs`); input from now on is ignored */
  end(): void {
    this.state = 'closed'
    this.commands.queue.length = 0
    closeWithin(this.socket, this.ctx.limits.lingerMs)
  }

  /**
   * STLS (RFC 2595 §4): the +OK goes out in the clear, then the same socket carries TLS. Lines
   * the client sent after STLS in the clear are dropped (a man in the middle could have added them).
   */
  async startTls(): Promise<void> {
    const plain = this.socket
    await new Promise<void>((resolve) => plain.write('+OK Begin TLS negotiation\r\n', () => resolve()))
    this.commands.queue.length = 0
    this.splitter.reset()
    const {tls: certificates, limits} = this.ctx
    const secure = await startServerTls(plain, {tls: certificates, handshakeTimeoutMs: limits.handshakeTimeoutMs, idleTimeoutMs: limits.idleTimeoutMs}, (tls) => {
      this.socket = tls
      this.attach(tls)
    })
    if (!secure) return
    this.secure = true
    // RFC 2595 §4: the client starts over (CAPA again, then login)
    this.pendingUser = undefined
    this.log.debug({protocol: secure.getProtocol()}, 'tls started')
  }

  /** `auth.login`, then the INBOX snapshot; the reply says how it went */
  async login(username: string, password: string, mechanism: LoginMechanism): Promise<void> {
    const {bus} = this.ctx
    let address: string
    try {
      ;({address} = await bus.call('auth.login', {username, password, remoteAddress: this.remoteAddress, protocol: 'pop3', mechanism, tls: tlsLabel(this.socket)}))
    } catch (err) {
      // RFC 3206 response codes: [AUTH] for the credentials, [SYS/TEMP] when waiting may help
      if (isMailboxError(err, 'throttled')) return this.err('[SYS/TEMP] too many failed logins, try again later')
      if (isMailboxError(err, 'disabled')) return this.err('[AUTH] account disabled')
      if (isMailboxError(err, 'auth-failed')) return this.err('[AUTH] invalid user name or password')
      this.log.error({err}, 'login failed')
      return this.err('[SYS/TEMP] authentication is unavailable, try again later')
    }
    try {
      this.drop = new Maildrop(await bus.call('mailstore.view', {user: address, name: 'INBOX'}))
    } catch (err) {
      this.log.error({err, user: address}, 'cannot open the maildrop')
      return this.err('[SYS/TEMP] cannot open the maildrop, try again later')
    }
    this.user = address
    this.pendingUser = undefined
    this.state = 'transaction'
    this.log.debug({user: address, messages: this.drop.entries.length}, 'logged in')
    this.ok(`${address} has ${this.drop.entries.length} message${this.drop.entries.length === 1 ? '' : 's'}`)
  }

  /** a message's bytes, or undefined (and `-ERR` sent) when it has gone since login */
  async read(entry: DropEntry): Promise<{raw: Buffer; info: CrlfInfo} | undefined> {
    let raw: Buffer
    try {
      raw = await this.ctx.bus.call('mailstore.blobBytes', {blobId: entry.blobId})
    } catch (err) {
      if (!isMailboxError(err, 'not-found')) throw err
      this.err(`message ${entry.n} was removed by another session`)
      return undefined
    }
    const info = crlfInfoOfSize(raw, entry.wireSize)
    entry.wireSize = info.size
    return {raw, info}
  }

  /** STAT and LIST give exact sizes, recorded at delivery (`crlfSize`); a blob without one is measured from its bytes */
  async measure(entries: DropEntry[]): Promise<void> {
    let read = 0
    for (const entry of entries) {
      if (entry.wireSize !== undefined) continue
      // the reads are synchronous underneath: let other connections in now and then
      if (++read % 64 === 0) await new Promise((resolve) => setImmediate(resolve))
      try {
        const {crlfSize} = await this.ctx.bus.call('mailstore.blobInfo', {blobId: entry.blobId})
        entry.wireSize = crlfSize ?? crlfInfo(await this.ctx.bus.call('mailstore.blobBytes', {blobId: entry.blobId})).size
      } catch (err) {
        if (!isMailboxError(err, 'not-found')) throw err
        entry.wireSize = 0 // removed by another session; RETR will say so
      }
    }
  }

  /** RETR sets \Seen once the message is sent; updates are batched, and a failure only costs the flag */
  markSeen(entry: DropEntry): void {
    if (entry.seen) return
    entry.seen = true
    this.seenQueue.add(entry.uid)
    this.seenFlush ??= this.flushSeen().finally(() => (this.seenFlush = undefined))
  }

  private async flushSeen(): Promise<void> {
    while (this.seenQueue.size && this.drop && this.user) {
      const uids = [...this.seenQueue]
      this.seenQueue.clear()
      try {
        await this.ctx.bus.call('mailstore.setFlags', {user: this.user, mailboxId: this.drop.mailboxId, uids, mode: 'add', flags: ['\\Seen']})
      } catch (err) {
        this.log.warn({err, uids: uids.length}, 'could not set \\Seen')
      }
    }
  }

  /** waits for the \Seen updates under way */
  async seenDone(): Promise<void> {
    while (this.seenFlush) await this.seenFlush
  }

  /** server stop: let a running command (a QUIT committing its deletions) finish, then close */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true
    this.commands.queue.length = 0
    if (this.commands.running) await settledWithin(this.commands.running, timeoutMs)
    await this.seenDone()
    if (this.state !== 'closed') {
      this.err('[SYS/TEMP] server shutting down, nothing was deleted')
      this.end()
    }
    await settledWithin(this.closed, 1000)
    this.socket.destroy()
  }

  private onClose(): void {
    if (this.state !== 'closed') this.log.debug({state: this.state}, 'connection dropped')
    this.state = 'closed'
    this.commands.queue.length = 0
    this.continuation = undefined
    // RETRs that went out before the drop still get their \Seen
    void this.seenDone().finally(() => this.markClosed())
  }
}
