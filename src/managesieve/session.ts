/**
 * One ManageSieve connection (RFC 5804): non-authenticated → authenticated (→ non-authenticated
 * again after UNAUTHENTICATE) → closed.
 *
 * Framing is IMAP's (src/imap/framing.ts), with every literal's bytes following its line: lines
 * are bounded by `maxLineLength`, literals by the script size limit once logged in and by the line
 * length before (an AUTHENTICATE response is all a client may send as a literal then). A literal
 * over the limit is not read: the command gets NO (QUOTA/MAXSIZE) and the connection BYE, since
 * its bytes are on their way and nothing after them can be framed.
 *
 * Commands run one at a time, in order: while one runs the socket is paused. What each command
 * does is in commands.ts; this file owns the socket, the state, STARTTLS, the idle timer, the
 * counters of bad commands and of commands before login, and logging in through the auth actor
 * (argon2, throttling by source and user, disabled accounts: the same as IMAP and POP3).
 */
import type {Socket} from 'node:net'
import type {TLSSocketOptions} from 'node:tls'
import type {Bus, LoginMechanism} from '../bus.js'
import {CommandRunner} from '../command-runner.js'
import {isMailboxError} from '../errors.js'
import {Framing, type RefusalReason} from '../imap/framing.js'
import type {Logger} from '../log.js'
import {settledWithin, startServerTls} from '../session-socket.js'
import {closeWithin} from '../socket-close.js'
import {tlsLabel} from '../tls-label.js'
import {capabilities, COMMANDS} from './commands.js'
import type {ManageSieveConfig} from './limits.js'
import {CommandSyntaxError, parseArgs, parseCommand, type Arg} from './parser.js'
import type {SieveQuota, SieveScripts} from './scripts.js'
import {capabilityLines, response, type ResponseCode} from './wire.js'

export type State = 'non-authenticated' | 'authenticated' | 'closed'

/** what every session of one front-end shares */
export interface SessionContext {
  bus: Bus
  hostname: string
  allowInsecureAuth: boolean
  /** read as it is: a reload changes the limits of open sessions too */
  limits: ManageSieveConfig
  sieve: SieveScripts
  /** the configured script quota, at the time of asking */
  quota(): SieveQuota
  /** the MAXREDIRECTS capability: config sieve.maxRedirects at the time of asking (a reload applies) */
  maxRedirects(): number
  /** what STLS/STARTTLS wraps the socket with: the certificates current at the handshake */
  tls: {socketOptions(): TLSSocketOptions}
}

type Input = {kind: 'command'; parts: (string | Buffer)[]} | {kind: 'refused'; reason: RefusalReason; fatal: boolean}

export class ManageSieveSession {
  state: State = 'non-authenticated'
  /** TLS after STARTTLS */
  secure = false
  /** the logged-in user */
  user?: string
  /** set by AUTHENTICATE without an initial response: the next line is the client's SASL response */
  continuation?: (args: Arg[]) => Promise<void>
  readonly remoteAddress: string
  readonly closed: Promise<void>

  private socket: Socket
  private readonly framing: Framing
  private readonly commands = new CommandRunner<Input>({
    socket: () => this.socket,
    live: () => this.state !== 'closed' && !this.stopping,
    handle: async (input) => (input.kind === 'refused' ? this.refused(input.reason, input.fatal) : this.handle(input.parts)),
    failed: (err) => {
      this.log.error({err}, 'managesieve command failed')
      this.no('internal error, try again later', 'TRYLATER')
    },
  })
  private stopping = false
  private badCommands = 0
  private commandsBeforeAuth = 0
  private markClosed!: () => void

  constructor(
    socket: Socket,
    readonly ctx: SessionContext,
    readonly log: Logger,
  ) {
    this.socket = socket
    this.remoteAddress = socket.remoteAddress ?? ''
    const {maxLineLength} = ctx.limits
    this.framing = new Framing(
      {maxLineLength, maxLiteralSize: maxLineLength},
      {
        command: (parts) => this.commands.queue.push({kind: 'command', parts}),
        line: () => {},
        continueLiteral: () => {},
        refused: (_tag, reason, fatal) => this.commands.queue.push({kind: 'refused', reason, fatal}),
      },
      {literalsFollow: true},
    )
    this.closed = new Promise((resolve) => (this.markClosed = resolve))
    this.attach(socket)
    // RFC 5804 §1.7: the greeting is the capability response
    this.sendCapabilities(`${ctx.hostname} ManageSieve ready`)
  }

  /** plaintext passwords are accepted only over TLS unless the configuration allows them */
  get authAllowed(): boolean {
    return this.secure || this.ctx.allowInsecureAuth
  }

  get canStartTls(): boolean {
    return !this.secure && this.state === 'non-authenticated'
  }

  private attach(socket: Socket): void {
    this.commands.listen(
      socket,
      this.ctx.limits.idleTimeoutMs,
      {data: (chunk) => this.onData(chunk), idle: () => this.bye('idle for too long'), close: () => this.onClose()},
      this.log,
    )
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.stopping) return
    this.framing.push(chunk)
    this.commands.kick()
  }

  private refused(reason: RefusalReason, fatal: boolean): void {
    this.continuation = undefined
    if (reason === 'line-too-long') this.bad(`line too long (limit ${this.ctx.limits.maxLineLength} bytes)`)
    else this.no(`literal too large (limit ${this.framing.literalLimit} bytes)`, 'QUOTA/MAXSIZE')
    // the literal's bytes are coming and will not be read: nothing after them can be framed
    if (fatal) this.bye('cannot read the rest of that command')
  }

  private async handle(parts: (string | Buffer)[]): Promise<void> {
    const continuation = this.continuation
    if (continuation) {
      this.continuation = undefined
      let args: Arg[]
      try {
        args = parseArgs(parts, false)
      } catch (err) {
        if (err instanceof CommandSyntaxError) return this.bad(`authentication response: ${err.message}`)
        throw err
      }
      return continuation(args)
    }
    if (this.state === 'non-authenticated' && ++this.commandsBeforeAuth > this.ctx.limits.maxCommandsBeforeAuth) {
      return this.bye('too many commands without logging in')
    }
    let name: string
    let args: Arg[]
    try {
      ;({name, args} = parseCommand(parts))
    } catch (err) {
      if (err instanceof CommandSyntaxError) return this.bad(err.message)
      throw err
    }
    if (this.log.level === 'trace') this.log.trace({command: name, state: this.state}, 'command')
    const command = COMMANDS.get(name)
    if (!command) return this.bad(`unknown command ${JSON.stringify(name.slice(0, 20))}`)
    if (!command.states.includes(this.state)) return this.bad(this.state === 'authenticated' ? `${name} is not allowed after login` : `${name} needs a login first`)
    const shape = checkArgs(command.args, args)
    if (shape) return this.bad(`${name}: ${shape}`)
    try {
      await command.run(this, args)
    } catch (err) {
      if (err instanceof CommandSyntaxError) return this.bad(`${name}: ${err.message}`)
      throw err
    }
  }

  /** NO, counted: a client that keeps sending bad commands is closed */
  bad(text: string): void {
    this.no(text)
    if (++this.badCommands >= this.ctx.limits.maxBadCommands) this.bye('too many bad commands')
  }

  write(data: string | Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return
    this.socket.write(data)
  }

  ok(text?: string, code?: ResponseCode): void {
    this.write(response('OK', text, code))
  }

  no(text: string, code?: ResponseCode): void {
    this.write(response('NO', text, code))
  }

  /** BYE, then closed once it is sent (within `lingerMs`); input from now on is ignored */
  bye(text: string, code?: ResponseCode): void {
    if (this.state === 'closed') return
    this.write(response('BYE', text, code))
    this.end()
  }

  /** closes after what was written has been sent (within `lingerMs`) */
  end(): void {
    this.state = 'closed'
    this.commands.queue.length = 0
    this.continuation = undefined
    closeWithin(this.socket, this.ctx.limits.lingerMs)
  }

  /** the capability lines and an OK (RFC 5804 §1.7: the greeting, CAPABILITY, after STARTTLS) */
  sendCapabilities(text?: string): void {
    this.write(capabilityLines(capabilities(this)) + response('OK', text))
  }

  /**
   * STARTTLS (RFC 5804 §2.2): the OK goes out in the clear, then the same socket carries TLS, and
   * the capabilities are sent again. What the client sent after STARTTLS in the clear is dropped
   * (a man in the middle could have added it).
   */
  async startTls(): Promise<void> {
    const plain = this.socket
    await new Promise<void>((resolve) => plain.write(response('OK', 'begin TLS negotiation'), () => resolve()))
    this.commands.queue.length = 0
    this.framing.reset()
    const {tls: certificates, limits} = this.ctx
    const secure = await startServerTls(plain, {tls: certificates, handshakeTimeoutMs: limits.handshakeTimeoutMs, idleTimeoutMs: limits.idleTimeoutMs}, (tls) => {
      this.socket = tls
      this.attach(tls)
    })
    if (!secure) return
    this.secure = true
    this.log.debug({protocol: secure.getProtocol()}, 'tls started')
    this.sendCapabilities('TLS negotiation successful')
  }

  /** `auth.login`; the reply says how it went (RFC 5804 §2.1) */
  async login(username: string, password: string, mechanism: LoginMechanism): Promise<void> {
    let address: string
    try {
      ;({address} = await this.ctx.bus.call('auth.login', {
        username,
        password,
        remoteAddress: this.remoteAddress,
        protocol: 'managesieve',
        mechanism,
        tls: tlsLabel(this.socket),
      }))
    } catch (err) {
      if (isMailboxError(err, 'throttled')) return this.no('too many failed logins, try again later', 'TRYLATER')
      if (isMailboxError(err, 'disabled')) return this.no('account disabled')
      if (isMailboxError(err, 'auth-failed')) return this.no('invalid user name or password')
      this.log.error({err}, 'login failed')
      return this.no('authentication is unavailable, try again later', 'TRYLATER')
    }
    this.user = address
    this.state = 'authenticated'
    this.setLiteralLimits()
    this.log.debug({user: address}, 'logged in')
    this.ok('logged in')
  }

  /** UNAUTHENTICATE (RFC 5804 §2.14) */
  logout(): void {
    this.log.debug({user: this.user}, 'unauthenticated')
    this.user = undefined
    this.state = 'non-authenticated'
    this.commandsBeforeAuth = 0
    this.setLiteralLimits()
  }

  /** a script (and its name) once logged in; only a short AUTHENTICATE response before */
  private setLiteralLimits(): void {
    const {maxLineLength} = this.ctx.limits
    const scriptBytes = this.user ? this.ctx.quota().maxScriptBytes : 0
    this.framing.literalLimit = Math.max(maxLineLength, scriptBytes)
    this.framing.commandLiteralLimit = maxLineLength + scriptBytes
  }

  /** server stop: let a running command finish, then BYE */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true
    this.commands.queue.length = 0
    if (this.commands.running) await settledWithin(this.commands.running, timeoutMs)
    this.bye('server shutting down', 'TRYLATER')
    await settledWithin(this.closed, 1000)
    this.socket.destroy()
  }

  private onClose(): void {
    if (this.state !== 'closed') this.log.debug({state: this.state}, 'connection dropped')
    this.state = 'closed'
    this.commands.queue.length = 0
    this.continuation = undefined
    this.markClosed()
  }
}

export type ArgKind = 'string' | 'number' | 'string?'

/** the command's arguments against its schema: undefined when they fit, else what is wrong */
function checkArgs(schema: readonly ArgKind[], args: Arg[]): string | undefined {
  const required = schema.filter((k) => !k.endsWith('?')).length
  if (args.length < required || args.length > schema.length) {
    return required === schema.length ? `takes ${schema.length} argument${schema.length === 1 ? '' : 's'}` : `takes ${required} to ${schema.length} arguments`
  }
  for (let i = 0; i < args.length; i++) {
    const want = schema[i]!.replace('?', '')
    if (args[i]!.kind !== want) return `argument ${i + 1} must be a ${want}`
  }
  return undefined
}
