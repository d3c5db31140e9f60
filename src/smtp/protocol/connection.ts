/**
 * One SMTP session on one socket (RFC 5321), smtp-server's SMTPConnection in shape: all state set
 * in the constructor, one method per verb, the hooks of types.ts called at MAIL, RCPT, DATA, AUTH.
 *
 * Invariants:
 *  - Commands run one at a time, in order. While a hook is pending (`busy`), input waits in the
 *    line reader; past MAX_PIPELINED buffered bytes the socket stops being read.
 *  - Replies go to `outbox` and are written in one socket write when the session next waits for
 *    its client (all buffered input handled), or when it closes: a pipelining client's replies to
 *    a group of commands leave together (RFC 2920), one write instead of one per reply.
 *  - Every reply names its enhanced code (RFC 2034, RFC 3463); hook errors go out as replies.ts says.
 *  - Everything a client controls is bounded: line length, unknown and unauthenticated commands,
 *    HELO name, recipients, message size (counted; an oversized message is read to its end and
 *    refused, nothing kept), idle time (not while we owe the reply, nor while paused by the budget).
 *  - After STARTTLS nothing of the plaintext session survives (RFC 3207 §4.2), and a command
 *    pipelined behind STARTTLS is refused with the connection (CVE-2011-0411 class).
 */
import type {Socket} from 'node:net'
import {TLSSocket, type TLSSocketOptions} from 'node:tls'
import {newId} from '../../ids.js'
import type {Logger} from '../../log.js'
import {parsePath, type SmtpAddress} from './address.js'
import {DataReader} from './data-reader.js'
import {IncomingMessage} from './incoming-message.js'
import {LineReader, TOO_LONG} from './line-reader.js'
import {errorReply, formatReply} from './replies.js'
import {decodeLoginPassword, decodeLoginUsername, decodePlain, LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT, type SmtpAuth} from './sasl.js'
import type {HookCallback, ListenerLimits, ListenerOptions, SmtpHooks, SmtpSession, TransmissionType} from './types.js'

/** smtp-server's maxCommandLength: RFC 5321 §4.5.3.1.4 asks for 512, AUTH PLAIN lines need more */
export const MAX_LINE = 4096
/** smtp-server's limit: the 10th unknown command closes the connection */
export const MAX_UNRECOGNIZED = 10
/** smtp-server's maxAllowedUnauthenticatedCommands: commands other than AUTH before login (submission) */
export const MAX_UNAUTHENTICATED = 10
/** RFC 5321 §4.5.3.1.2 bounds a domain to 255 octets; the HELO name ends up in Received headers */
const MAX_HELO = 300
/** pipelined input held while a command runs, before the socket stops being read */
const MAX_PIPELINED = 64 * 1024
/** after we closed, how long the client has to close its side (smtp-server's HALF_CLOSE_TIMEOUT) */
const HALF_CLOSE_MS = 5_000

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/
/** web pages that make a browser talk to port 25 (cross-protocol attacks) */
const HTTP_REQUEST = /^(OPTIONS|GET|HEAD|POST|PUT|DELETE|TRACE|CONNECT) \/.* HTTP\/\d\.\d$/i

/** what a connection needs from its listener */
export interface ConnectionHost {
  readonly options: ListenerOptions
  readonly hooks: SmtpHooks
  /** what STARTTLS and implicit TLS wrap the socket with: the certificates current at the handshake; undefined: no TLS */
  readonly tls: {socketOptions(): TLSSocketOptions} | undefined
  /** a graceful stop has begun: every command gets 421 */
  readonly stopping: boolean
  /** open connections of this listener, this one included */
  readonly connectionCount: number
  released(connection: SmtpConnection): void
}

type Verb = 'EHLO' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA' | 'RSET' | 'NOOP' | 'QUIT' | 'VRFY' | 'HELP' | 'STARTTLS' | 'AUTH'

export class SmtpConnection {
  readonly session: SmtpSession
  private socket: Socket | TLSSocket
  private readonly limits: ListenerLimits
  private readonly log: Logger | undefined
  /** command input not yet handled */
  private readonly lines = new LineReader(MAX_LINE)
  /** replies not yet written */
  private outbox = ''
  /** the greeting went out: input before it is an early talker's */
  private greeted = false
  /** a command is running (its hook has not answered, or a TLS handshake is under way) */
  private busy = false
  /** inside process(): a command that completes synchronously lets the loop go on */
  private looping = false
  /** we closed (or are closing) the connection: input is ignored */
  private closing = false
  private closed = false
  /** onConnect was called, so onClose will be */
  private opened = false
  /** the socket is not being read (pipelined input over MAX_PIPELINED, or the memory budget) */
  private socketPaused = false
  private pausedForBudget = false
  /** the next line is a SASL continuation, not a command */
  private continuation: ((line: string) => void) | undefined
  private unrecognized = 0
  private unauthenticated = 0
  /** HELO or EHLO (for transmissionType) */
  private opening: 'HELO' | 'EHLO' | undefined
  /** recipients already in the envelope, lower case → index (a repeated RCPT replaces its entry) */
  private rcptIndex = new Map<string, number>()
  /** the DATA phase: the reader while content comes, the message, and what the hook answered */
  private reader: DataReader | undefined
  private message: IncomingMessage | undefined
  private dataEnded = false
  private oversized = false
  private dataAnswer: {err?: (Error & {responseCode?: number}) | null; text?: string} | undefined
  private halfCloseTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly host: ConnectionHost,
    socket: Socket,
  ) {
    this.socket = socket
    this.limits = host.options.limits()
    this.log = host.options.log
    this.session = {
      id: newId(),
      remoteAddress: (socket.remoteAddress ?? '').replace(/^::ffff:/i, ''),
      localAddress: (socket.localAddress ?? '').replace(/^::ffff:/i, ''),
      secure: false,
      tls: undefined,
      user: undefined,
      hostNameAppearsAs: '',
      transmissionType: 'SMTP',
      envelope: {mailFrom: undefined, rcptTo: []},
    }
  }

  /** starts the session: TLS first on an SMTPS listener, then the limits, onConnect and the greeting */
  start(): void {
    if (!this.host.options.implicitTls) return this.begin()
    this.busy = true
    this.upgrade(() => {
      this.busy = false
      this.begin()
    })
  }

  /** a graceful stop's end: 421 and close (smtp-server's "Server shutting down") */
  shutdown(): void {
    if (this.closing) return
    this.reply(421, '4.3.2', `${this.host.options.hostname} Server shutting down`)
    this.close()
  }

  private begin(): void {
    this.listen(this.socket)
    if (this.host.connectionCount > this.limits.maxConnections) {
      this.reply(421, '4.7.0', `${this.host.options.hostname} Too many connected clients, try again in a moment`)
      return this.close()
    }
    this.opened = true
    this.busy = true
    this.host.hooks.onConnect(
      this.session,
      once((err) => {
        if (this.closing) return
        if (err) {
          this.send(errorReply(err, 554))
          return this.close()
        }
        const greet = () => {
          if (this.closing) return
          this.greeted = true
          this.reply(220, undefined, `${this.host.options.hostname} ESMTP mailbox ready`)
          this.busy = false
          this.process()
        }
        if (this.limits.greetingDelayMs > 0) setTimeout(greet, this.limits.greetingDelayMs).unref()
        else greet()
      }),
    )
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', this.onData)
    socket.on('error', this.onError)
    socket.once('close', this.onClose)
    socket.setTimeout(this.limits.socketTimeoutMs, this.onTimeout)
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing) return
    if (!this.greeted) {
      // RFC 5321 §4.3.1: the client waits for the greeting; spam bots often don't
      this.reply(554, '5.5.0', `${this.host.options.hostname} You talk too soon`)
      return this.close()
    }
    if (this.reader && !this.busy) {
      this.feedData(chunk)
      return this.process()
    }
    this.lines.push(chunk)
    this.process()
  }

  private readonly onError = (err: Error): void => {
    this.log?.debug({cid: this.session.id, err}, 'smtp socket error')
  }

  private readonly onTimeout = (): void => {
    if (this.closing) return void this.socket.destroy()
    // the client waits for us (a hook has not answered, or the budget paused it): not its idleness
    if (this.busy || this.pausedForBudget) return void this.socket.setTimeout(this.pausedForBudget ? 0 : this.limits.socketTimeoutMs)
    this.reply(421, '4.4.2', `${this.host.options.hostname} Error: Timeout - closing connection`)
    this.close()
  }

  private readonly onClose = (): void => {
    if (this.closed) return
    this.closed = true
    this.closing = true
    clearTimeout(this.halfCloseTimer)
    this.continuation = undefined
    if (this.message && !this.dataEnded && !this.oversized) {
      const err = Object.assign(new Error('Connection closed before the message was received in full'), {code: 'ECONNECTION'})
      this.message.onabort(err)
    }
    this.message = undefined
    this.reader = undefined
    this.host.released(this)
    if (this.opened) this.host.hooks.onClose(this.session)
  }

  /** handles buffered input until a command waits for a hook or more input is needed */
  private process(): void {
    if (this.looping) return
    this.looping = true
    try {
      while (!this.busy && !this.closing) {
        if (this.reader) {
          const rest = this.lines.take()
          if (!rest) break
          this.feedData(rest)
          continue
        }
        const line = this.lines.next()
        if (line === undefined) break
        if (line === TOO_LONG) this.tooLong()
        else this.command(line)
      }
    } finally {
      this.looping = false
    }
    this.updateFlow()
    // the client waits for us only when we wait for it: that is when the replies go out
    if (!this.busy) this.flush()
  }

  /** a command finished (its reply is in the outbox): the next one may run */
  private done(): void {
    this.busy = false
    this.process()
  }

  private command(line: string): void {
    this.trace('C:', line)
    this.busy = true
    if (this.host.stopping) {
      this.reply(421, '4.3.2', `${this.host.options.hostname} Server shutting down`)
      return this.close()
    }
    if (this.continuation) {
      const next = this.continuation
      this.continuation = undefined
      return next(line)
    }
    const space = line.indexOf(' ')
    const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase()
    if (!this.offered(verb)) return this.unknown(line)
    if (this.host.options.auth && !this.session.user && verb !== 'AUTH' && ++this.unauthenticated >= MAX_UNAUTHENTICATED) {
      this.reply(421, '4.7.0', `${this.host.options.hostname} Error: too many unauthenticated commands`)
      return this.close()
    }
    if (!this.session.hostNameAppearsAs && (verb === 'MAIL' || verb === 'RCPT' || verb === 'DATA' || verb === 'AUTH')) {
      return this.answer(503, '5.5.1', 'Error: send HELO/EHLO first')
    }
    if (this.host.options.auth && !this.session.user && (verb === 'MAIL' || verb === 'RCPT' || verb === 'DATA')) {
      return this.answer(530, '5.7.0', 'Authentication required')
    }
    try {
      this.dispatch(verb, line)
    } catch (err) {
      this.log?.error({cid: this.session.id, err, verb}, 'smtp command failed')
      this.answer(451, '4.3.0', 'Error: internal server error')
    }
  }

  private dispatch(verb: Verb, line: string): void {
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.hello(verb, line)
      case 'MAIL':
        return this.mail(line)
      case 'RCPT':
        return this.rcpt(line)
      case 'DATA':
        return this.data()
      case 'RSET':
        this.resetTransaction()
        return this.answer(250, '2.0.0', 'Flushed')
      case 'NOOP':
        return this.answer(250, '2.0.0', 'OK')
      case 'QUIT':
        this.reply(221, '2.0.0', 'Bye')
        return this.close(true)
      case 'VRFY':
        // RFC 5321 §3.5.3: 252, never a confirmation (no address harvesting)
        if (!line.trim().split(/\s+/)[1]) return this.answer(501, '5.5.4', 'Error: Syntax: VRFY address')
        return this.answer(252, '2.1.5', 'Try to send something. No promises though')
      case 'HELP':
        return this.answer(214, '2.0.0', 'See https://tools.ietf.org/html/rfc5321 for details')
      case 'STARTTLS':
        return this.startTls(line)
      case 'AUTH':
        return this.auth(line)
    }
  }

  /** the verbs this session knows: AUTH only on submission, STARTTLS only with TLS material */
  private offered(verb: string): verb is Verb {
    switch (verb) {
      case 'EHLO':
      case 'HELO':
      case 'MAIL':
      case 'RCPT':
      case 'DATA':
      case 'RSET':
      case 'NOOP':
      case 'QUIT':
      case 'VRFY':
      case 'HELP':
        return true
      case 'STARTTLS':
        return this.host.tls !== undefined
      case 'AUTH':
        return this.host.options.auth
      default:
        return false
    }
  }

  private unknown(line: string): void {
    if (HTTP_REQUEST.test(line)) {
      this.reply(421, '4.7.0', `${this.host.options.hostname} HTTP requests not allowed`)
      return this.close()
    }
    if (++this.unrecognized >= MAX_UNRECOGNIZED) {
      this.reply(421, '4.7.0', `${this.host.options.hostname} Error: too many unrecognized commands`)
      return this.close()
    }
    this.answer(500, '5.5.2', 'Error: command not recognized')
  }

  private tooLong(): void {
    this.busy = true
    this.continuation = undefined
    if (++this.unrecognized >= MAX_UNRECOGNIZED) {
      this.reply(421, '4.7.0', `${this.host.options.hostname} Error: too many unrecognized commands`)
      return this.close()
    }
    this.answer(500, '5.5.2', `Error: line too long (over ${MAX_LINE} bytes)`)
  }

  // EHLO domain / HELO domain (RFC 5321 §4.1.1.1); EHLO lists the extensions (RFC 1869)
  private hello(verb: 'EHLO' | 'HELO', line: string): void {
    const parts = line.trim().split(/\s+/)
    if (parts.length !== 2) return this.answer(501, '5.5.4', `Error: Syntax: ${verb} hostname`)
    const name = parts[1]!
    if (name.length > MAX_HELO || CONTROL.test(name)) return this.answer(501, '5.5.4', 'Error: Bad hostname syntax')
    this.session.hostNameAppearsAs = name.toLowerCase()
    this.opening = verb
    this.resetTransaction()
    const greeting = `${this.host.options.hostname} Nice to meet you, [${this.session.remoteAddress}]`
    if (verb === 'HELO') return this.answer(250, undefined, greeting)
    const {maxMessageSize} = this.limits
    const features = [greeting, 'PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES']
    // RFC 8314 §3 / RFC 4954 §4: no password offers in the clear
    if (this.host.options.auth && !this.session.user && (this.session.secure || this.host.options.allowInsecureAuth)) features.push('AUTH PLAIN LOGIN')
    if (!this.session.secure && this.host.tls) features.push('STARTTLS')
    if (maxMessageSize > 0) features.push(`SIZE ${maxMessageSize}`)
    this.answer(250, undefined, features)
  }

  // MAIL FROM:<reverse-path> [SIZE=n] [BODY=7BIT|8BITMIME] [SMTPUTF8] (RFC 5321 §4.1.1.2, RFC 1870, RFC 6152, RFC 6531)
  private mail(line: string): void {
    const parsed = parsePath('MAIL FROM', line)
    if (!parsed) return this.answer(501, '5.1.7', 'Error: Bad sender address syntax')
    if (parsed.duplicate) return this.answer(501, '5.5.4', `Error: duplicate ${parsed.duplicate} parameter`)
    if (this.session.envelope.mailFrom) return this.answer(503, '5.5.1', 'Error: nested MAIL command')
    const refused = this.mailParamsRefused(parsed)
    if (refused) return this.answer(...refused)
    const address: SmtpAddress = {address: parsed.address, args: parsed.args}
    this.afterHook((cb) => this.host.hooks.onMailFrom(address, this.session, cb), () => {
      this.session.envelope.mailFrom = address
      this.answer(250, '2.1.0', 'Accepted')
    })
  }

  private mailParamsRefused({args}: SmtpAddress): [number, string, string] | undefined {
    for (const [key, value] of Object.entries(args)) {
      if (key === 'SIZE') {
        if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) return [501, '5.5.4', 'Error: Bad message size syntax']
        const max = this.limits.maxMessageSize
        if (max > 0 && Number(value) > max) return [552, '5.3.4', `Error: message exceeds fixed maximum message size ${max}`]
      } else if (key === 'BODY') {
        if (typeof value !== 'string' || !/^(7BIT|8BITMIME)$/i.test(value)) return [501, '5.5.4', 'Invalid BODY parameter value. Must be 7BIT or 8BITMIME']
      } else if (key === 'SMTPUTF8') {
        if (value !== true) return [501, '5.5.4', 'Invalid SMTPUTF8 parameter. This flag does not accept a value']
      } else if (key === 'AUTH' && this.host.options.auth) {
        // RFC 4954 §5: the identity the message was submitted by, from a client that relays; the
        // session's own login is what counts here, so the value is only read for its syntax
        if (value === true) return [501, '5.5.4', 'Error: AUTH parameter requires a value']
      } else {
        // RFC 5321 §4.1.1.11: a parameter of an extension we did not offer
        return [555, '5.5.4', `Error: unsupported parameter ${key.slice(0, 40)}`]
      }
    }
    return undefined
  }

  // RCPT TO:<forward-path> (RFC 5321 §4.1.1.3); no parameters: we offer no RCPT extension
  private rcpt(line: string): void {
    const parsed = parsePath('RCPT TO', line)
    if (!parsed || !parsed.address) return this.answer(501, '5.1.3', 'Error: Bad recipient address syntax')
    const keys = Object.keys(parsed.args)
    if (keys.length) return this.answer(555, '5.5.4', `Error: unsupported parameter ${keys[0]!.slice(0, 40)}`)
    const {envelope} = this.session
    if (!envelope.mailFrom) return this.answer(503, '5.5.1', 'Error: need MAIL command')
    const key = parsed.address.toLowerCase()
    const max = this.limits.maxRecipients
    if (max > 0 && envelope.rcptTo.length >= max && !this.rcptIndex.has(key)) return this.answer(452, '4.5.3', 'Error: too many recipients')
    const address: SmtpAddress = {address: parsed.address, args: parsed.args}
    this.afterHook((cb) => this.host.hooks.onRcptTo(address, this.session, cb), () => {
      const index = this.rcptIndex.get(key)
      if (index === undefined) {
        this.rcptIndex.set(key, envelope.rcptTo.length)
        envelope.rcptTo.push(address)
      } else envelope.rcptTo[index] = address
      this.answer(250, '2.1.5', 'Accepted')
    })
  }

  /** runs a MAIL or RCPT hook: its refusal is the reply (550 when it names no code), else `accepted` replies */
  private afterHook(call: (cb: HookCallback) => void, accepted: () => void): void {
    call(
      once((err) => {
        if (this.closing) return
        if (err) return this.answerWith(err, 550)
        accepted()
      }),
    )
  }

  // DATA (RFC 5321 §4.1.1.4): 354, the content until CRLF.CRLF (data-reader.ts), then the hook's answer
  private data(): void {
    if (!this.session.envelope.rcptTo.length) return this.answer(503, '5.5.1', 'Error: need RCPT command')
    const message = new IncomingMessage({pause: () => this.pauseForBudget(true), resume: () => this.pauseForBudget(false)})
    this.message = message
    this.dataEnded = false
    this.oversized = false
    this.dataAnswer = undefined
    const max = this.limits.maxMessageSize
    const reader = new DataReader((piece) => {
      message.bytes = reader.bytes
      if (this.oversized) return
      if (max > 0 && reader.bytes > max) {
        this.oversized = true
        return message.onabort(Object.assign(new Error('message exceeds the maximum size'), {responseCode: 552}))
      }
      message.ondata(piece)
    })
    this.reader = reader
    this.host.hooks.onData(
      message,
      this.session,
      once((err, text) => {
        if (this.message !== message || this.closing) return
        this.dataAnswer = {err, text}
        if (this.dataEnded) this.finishData()
      }),
    )
    this.answer(354, undefined, 'End data with <CR><LF>.<CR><LF>')
  }

  /** content of the DATA phase; at its end, what follows goes back to the line reader */
  private feedData(chunk: Buffer): void {
    const reader = this.reader!
    const rest = reader.feed(chunk)
    if (rest === undefined) return
    this.reader = undefined
    this.dataEnded = true
    this.busy = true
    if (rest.length) this.lines.push(rest)
    if (this.pausedForBudget) this.pauseForBudget(false)
    this.trace('C:', `<${reader.bytes} bytes of DATA>`)
    if (this.oversized) {
      this.message = undefined
      this.resetTransaction()
      return this.answer(552, '5.3.4', `Error: message exceeds fixed maximum message size ${this.limits.maxMessageSize}`)
    }
    if (!this.dataAnswer) this.message!.onend()
    if (this.dataAnswer) this.finishData()
  }

  private finishData(): void {
    const {err, text} = this.dataAnswer!
    this.message = undefined
    this.dataAnswer = undefined
    this.resetTransaction()
    this.unrecognized = 0
    if (err) return this.answerWith(err, 450)
    this.answer(250, '2.6.0', text ?? 'OK: message queued')
  }

  private pauseForBudget(pause: boolean): void {
    if (this.closing || this.pausedForBudget === pause) return
    this.pausedForBudget = pause
    // the client is not idle while we hold it back
    this.socket.setTimeout(pause ? 0 : this.limits.socketTimeoutMs)
    this.updateFlow()
  }

  /** reads the socket unless the budget paused us or too much pipelined input waits */
  private updateFlow(): void {
    const pause = this.pausedForBudget || (this.busy && this.lines.buffered > MAX_PIPELINED)
    if (pause === this.socketPaused || this.closing) return
    this.socketPaused = pause
    if (pause) this.socket.pause()
    else this.socket.resume()
  }

  // STARTTLS (RFC 3207)
  private startTls(line: string): void {
    if (line.trim().split(/\s+/).length > 1) return this.answer(501, '5.5.4', 'Error: Syntax: STARTTLS')
    if (this.session.secure) return this.answer(503, '5.5.1', 'Error: TLS already active')
    if (this.lines.buffered > 0) {
      // RFC 3207 §5: STARTTLS ends a pipelined group; plaintext behind it would be taken as sent under TLS
      this.reply(554, '5.5.1', 'Error: command pipelined after STARTTLS')
      return this.close()
    }
    this.reply(220, '2.0.0', 'Ready to start TLS')
    this.flush()
    this.upgrade(() => {
      this.listen(this.socket)
      // RFC 3207 §4.2: forget everything the plaintext session said
      this.session.user = undefined
      this.session.hostNameAppearsAs = ''
      this.opening = undefined
      this.unauthenticated = 0
      this.resetTransaction()
      this.done()
    })
  }

  /** wraps the socket in TLS; `secured` once the handshake is done (it listens to the new socket) */
  private upgrade(secured: () => void): void {
    const plain = this.socket
    plain.off('data', this.onData)
    plain.off('close', this.onClose)
    plain.off('error', this.onError)
    plain.setTimeout(0)
    plain.removeAllListeners('timeout')
    plain.on('error', this.onError)
    const secure = new TLSSocket(plain, this.host.tls!.socketOptions())
    this.socket = secure
    secure.on('error', this.onError)
    secure.once('close', this.onClose)
    // a handshake that never finishes is idle time too
    secure.setTimeout(this.limits.socketTimeoutMs, () => secure.destroy())
    secure.once('secure', () => {
      if (this.closing) return
      secure.removeAllListeners('timeout')
      secure.off('close', this.onClose)
      secure.off('error', this.onError)
      this.session.secure = true
      const cipher = secure.getCipher()
      this.session.tls = {version: secure.getProtocol() ?? cipher.version, cipher: cipher.name}
      this.session.transmissionType = this.transmissionType()
      secured()
    })
  }

  // AUTH PLAIN [initial-response] / AUTH LOGIN [initial-response] (RFC 4954)
  private auth(line: string): void {
    const {options} = this.host
    if (!this.session.secure && !options.allowInsecureAuth) return this.answer(530, '5.7.0', 'Must issue a STARTTLS command first')
    if (this.session.user) return this.answer(503, '5.5.1', 'Error: No identity changes permitted')
    const args = line.trim().split(/\s+/).slice(1)
    const method = (args.shift() ?? '').toUpperCase()
    if (method !== 'PLAIN' && method !== 'LOGIN') return this.answer(504, '5.5.4', 'Error: Unrecognized authentication type')
    if (args.length > 1) return this.answer(501, '5.5.4', `Error: Syntax: AUTH ${method} [initial-response]`)
    const initial = args[0]
    if (method === 'PLAIN') {
      if (initial !== undefined) return this.plainToken(initial, false)
      this.continuation = (l) => this.plainToken(l, true)
      return this.answer(334, undefined, '')
    }
    if (initial !== undefined) return this.loginUsername(initial, false)
    this.continuation = (l) => this.loginUsername(l, true)
    this.answer(334, undefined, LOGIN_USERNAME_PROMPT)
  }

  private plainToken(line: string, canCancel: boolean): void {
    const token = line.trim()
    if (canCancel && token === '*') return this.answer(501, '5.7.0', 'Authentication aborted')
    const decoded = decodePlain(token)
    if (!decoded) return this.answer(501, '5.5.2', 'Error: invalid userdata')
    this.authenticate({method: 'PLAIN', ...decoded})
  }

  private loginUsername(line: string, canCancel: boolean): void {
    const text = line.trim()
    if (canCancel && text === '*') return this.answer(501, '5.7.0', 'Authentication aborted')
    const username = decodeLoginUsername(text)
    if (!username) return this.answer(501, '5.5.2', 'Error: invalid username')
    this.continuation = (l) => this.loginPassword(username, l)
    this.answer(334, undefined, LOGIN_PASSWORD_PROMPT)
  }

  private loginPassword(username: string, line: string): void {
    const text = line.trim()
    if (text === '*') return this.answer(501, '5.7.0', 'Authentication aborted')
    this.authenticate({method: 'LOGIN', username, password: decodeLoginPassword(text)})
  }

  private authenticate(auth: SmtpAuth): void {
    this.host.hooks.onAuth(
      auth,
      this.session,
      once((err, result) => {
        if (this.closing) return
        if (err) return this.answerWith(err, 535)
        if (!result?.user) return this.answer(535, '5.7.8', 'Error: Authentication credentials invalid')
        this.session.user = result.user
        this.session.transmissionType = this.transmissionType()
        this.answer(235, '2.7.0', 'Authentication successful')
      }),
    )
  }

  /** a new mail transaction (RSET, HELO/EHLO, after DATA, after STARTTLS) */
  private resetTransaction(): void {
    this.session.envelope = {mailFrom: undefined, rcptTo: []}
    this.rcptIndex = new Map()
    this.session.transmissionType = this.transmissionType()
  }

  /** RFC 3848 */
  private transmissionType(): TransmissionType {
    return `${this.opening === 'EHLO' ? 'E' : ''}SMTP${this.session.secure ? 'S' : ''}${this.session.user ? 'A' : ''}` as TransmissionType
  }

  /** the reply that ends the current command */
  private answer(code: number, enhanced: string | undefined, text: string | readonly string[]): void {
    this.reply(code, enhanced, text)
    this.done()
  }

  /** a hook's refusal as the reply that ends the current command */
  private answerWith(err: Error & {responseCode?: number}, fallbackCode: number): void {
    const wire = errorReply(err, fallbackCode)
    this.send(wire)
    // RFC 5321 §3.8: 421 closes the channel
    if (wire.startsWith('421')) return this.close()
    this.done()
  }

  private reply(code: number, enhanced: string | undefined, text: string | readonly string[]): void {
    this.send(formatReply(code, enhanced, text))
  }

  private send(wire: string): void {
    if (this.closing) return
    this.outbox += wire
    if (this.log) this.trace('S:', wire.slice(0, -2))
  }

  private flush(): void {
    if (!this.outbox) return
    const out = this.outbox
    this.outbox = ''
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(out)
  }

  /**
   * Ends the session after the replies so far. The client gets HALF_CLOSE_MS to close its side
   * (it may still be sending, and closing on unread input would reset the connection and could
   * cost it our last reply); after QUIT it has nothing more to say (RFC 5321 §4.1.1.10), so the
   * socket is closed once the 221 is handed to the kernel, without waiting for the client.
   */
  private close(quit = false): void {
    if (this.closing) return
    this.flush()
    this.closing = true
    this.continuation = undefined
    if (this.socket.destroyed) return
    if (quit) {
      this.socket.end(() => this.socket.destroy())
      return
    }
    this.socket.end()
    this.halfCloseTimer = setTimeout(() => this.socket.destroy(), Math.min(this.limits.socketTimeoutMs, HALF_CLOSE_MS)).unref()
  }

  private trace(direction: 'C:' | 'S:', line: string): void {
    if (!this.log) return
    // credentials never reach the log (AUTH's initial response, SASL continuation lines)
    const shown = direction === 'C:' && this.continuation ? '/* secured */' : direction === 'C:' && /^AUTH \S+ \S/i.test(line) ? line.replace(/^(AUTH \S+) .*/i, '$1 /* secured */') : line
    this.log.trace({cid: this.session.id, tnx: direction === 'C:' ? 'command' : 'send'}, `${direction} ${shown}`)
  }
}

/** a callback that acts on its first call only (a hook that answers twice cannot confuse the session) */
function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let called = false
  return (...args: A) => {
    if (called) return
    called = true
    fn(...args)
  }
}
