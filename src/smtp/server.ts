/**
 * The SMTP front-end: three listeners of our own SMTP layer (./protocol/) from one `serve`.
 *  - MX (default 2525): mail for local recipients only, no AUTH; STARTTLS offered.
 *  - submission (2587): AUTH required (PLAIN/LOGIN, only after STARTTLS unless
 *    allowInsecureAuth); the sender must be the user's own address or an alias of theirs;
 *    local recipients are delivered, remote ones queued.
 *  - SMTPS (2465): submission over implicit TLS.
 * In capture mode every recipient of every domain is accepted and stored, and nothing is relayed.
 *
 * The hooks only translate: recipients are resolved by `mailstore.resolve`, passwords checked by
 * `auth.login`, mail from outside checked by `mailauth.check` and the spam actor (`spam.*`, which
 * keeps each MX connection's state from `spam.connect` to `spam.close`), messages stored by
 * `mailstore.deliver`. `250` is sent only after that commit
 * is durable.
 */
import {normalizeAddress} from '../address.js'
import type {Actor, Bus, EventMap, LoginMechanism, Request} from '../bus.js'
import {ConnectionLimits, type ConnectionCounts, type ConnectionSlot} from '../connection-limits.js'
import {isMailboxError} from '../errors.js'
import {newId} from '../ids.js'
import {listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import type {ListenerInfo} from '../status.js'
import {SrsRefused} from '../srs/route.js'
import type {ServedCertificates} from '../certs/tls-certificates.js'
import {SmtpError, refusalReason, reply, ruleReply} from './codes.js'
import {fromHeaderAddresses} from './from-header.js'
import {MessageBudget} from './message-budget.js'
import type {IncomingMessage} from './protocol/incoming-message.js'
import {SmtpListener} from './protocol/listener.js'
import type {SmtpAddress, SmtpAuth, SmtpSession} from './protocol/types.js'
import {SieveRejected} from '../sieve-delivery/rejected.js'

export interface SmtpLimits {
  /** advertised with SIZE and enforced: bigger messages get 552 5.3.4 */
  maxMessageSize: number
  maxRecipients: number
  /** per listener */
  maxConnections: number
  /** across all SMTP listeners */
  maxConnectionsPerIp: number
  /** idle time allowed between commands */
  socketTimeoutMs: number
  /** how long a graceful stop waits for open transactions */
  closeTimeoutMs: number
  /** a message with more Received headers than this is looping */
  maxReceivedHeaders: number
  /** MX only: pause before the greeting; a client that talks first is dropped (spam defence) */
  greetingDelayMs: number
  /**
   * message bytes held in memory across all sessions and listeners; a session whose next chunk
   * would go over waits (TCP backpressure) until others are committed. The oldest message
   * always proceeds, so the total stays under this plus one maxMessageSize.
   */
  maxBufferedBytes: number
}

export const DEFAULT_SMTP_LIMITS: SmtpLimits = {
  maxMessageSize: 25 * 1024 * 1024,
  maxRecipients: 100,
  maxConnections: 500,
  maxConnectionsPerIp: 50,
  socketTimeoutMs: 5 * 60_000,
  closeTimeoutMs: 30_000,
  maxReceivedHeaders: 50,
  greetingDelayMs: 0,
  maxBufferedBytes: 128 * 1024 * 1024,
}

export interface SmtpOptions {
  bind: string
  hostname: string
  ports: {smtp: number; submission: number; smtps: number}
  capture: boolean
  allowInsecureAuth: boolean
  limits: SmtpLimits
}

type Role = 'mx' | 'submission' | 'smtps'

/** per-transaction state, on the session */
interface Transaction {
  local: Set<string>
  remote: Set<string>
}
type Session = SmtpSession & {mbx?: Transaction}

export class SmtpFrontEnd implements Actor {
  readonly name = 'smtp'
  private readonly servers: {role: Role; server: SmtpListener; address: string}[] = []
  private readonly connectionLimits: ConnectionLimits
  /** one budget of message bytes for every listener */
  private readonly budget: MessageBudget
  /** each connection's slot, from onConnect to onClose (one session object per connection) */
  private readonly slots = new WeakMap<SmtpSession, ConnectionSlot>()

  constructor(
    private readonly bus: Bus,
    private readonly options: SmtpOptions,
    private readonly tls: ServedCertificates,
    private readonly log: Logger,
  ) {
    // each listener enforces maxConnections itself; the per-address
    // limit is read from `limits` at each connection, so a reload changes it
    const {ports, limits} = options
    const perAddress = {
      maxConnections: Infinity,
      get maxConnectionsPerIp() {
        return limits.maxConnectionsPerIp
      },
    }
    this.connectionLimits = new ConnectionLimits(perAddress, [
      ...(ports.smtp ? ['smtp'] : []),
      ...(ports.submission ? ['submission'] : []),
      ...(ports.smtps ? ['smtps'] : []),
    ])
    this.budget = new MessageBudget(options.limits.maxBufferedBytes)
  }

  get listeners(): ListenerInfo[] {
    return this.servers.map(({role, address}) => ({name: role === 'mx' ? 'smtp' : role, address}))
  }

  /**
   * the per-address limiter's counts: every connection from its onConnect to its onClose (called
   * once per connection, after the socket, TLS or not, has closed)
   */
  get connections(): ConnectionCounts {
    return this.connectionLimits.counts()
  }

  async start(): Promise<void> {
    const {ports, bind} = this.options
    const roles: [Role, number][] = [
      ['mx', ports.smtp],
      ['submission', ports.submission],
      ['smtps', ports.smtps],
    ]
    for (const [role, port] of roles) {
      if (!port) continue
      const server = this.createServer(role)
      await listenOn(server.server, role === 'mx' ? 'smtp' : role, {host: bind, port})
      server.server.on('error', (err) => this.log.warn({err, role}, 'smtp listener error'))
      this.servers.push({role, server, address: `${bind}:${port}`})
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map(({server}) => server.close()))
    this.servers.length = 0
  }

  private createServer(role: Role): SmtpListener {
    const {hostname, allowInsecureAuth, limits} = this.options
    const submission = role !== 'mx'
    return new SmtpListener(
      {
        hostname,
        implicitTls: role === 'smtps',
        auth: submission,
        allowInsecureAuth,
        limits: () => ({
          maxMessageSize: limits.maxMessageSize,
          maxRecipients: limits.maxRecipients,
          maxConnections: limits.maxConnections,
          socketTimeoutMs: limits.socketTimeoutMs,
          closeTimeoutMs: limits.closeTimeoutMs,
          greetingDelayMs: role === 'mx' ? limits.greetingDelayMs : 0,
        }),
        ...(this.log.level === 'trace' ? {log: this.log.child({role})} : {}),
      },
      {
        onConnect: (session, cb) => this.onConnect(role, session, cb),
        onClose: (session) => this.onClose(role, session),
        onAuth: (auth, session, cb) => void this.onAuth(auth, session, cb),
        onMailFrom: (address, session, cb) => void this.onMailFrom(role, address, session as Session, this.reporting('mail', session, cb)),
        onRcptTo: (address, session, cb) => void this.onRcptTo(role, address, session as Session, this.reporting('rcpt', session, cb)),
        onData: (message, session, cb) => this.onData(role, message, session as Session, this.reporting('data', session, cb)),
      },
      this.tls,
    )
  }

  /** `cb`, which also publishes `smtp.rejected` when it refuses (metrics count refusals by reason) */
  private reporting<A extends unknown[]>(stage: EventMap['smtp.rejected']['stage'], session: SmtpSession, cb: (err?: Error | null, ...rest: A) => void) {
    return (err?: Error | null, ...rest: A): void => {
      if (err) this.bus.publish('smtp.rejected', {stage, reason: refusalReason(err), remoteAddress: session.remoteAddress})
      cb(err, ...rest)
    }
  }

  /** mail from outside is checked for spam: on the MX, not in capture mode (nor authenticated: the MX has no AUTH) */
  private spamChecked(role: Role): boolean {
    return role === 'mx' && !this.options.capture && this.bus.has('spam.check')
  }

  private onConnect(role: Role, session: SmtpSession, cb: (err?: Error | null) => void): void {
    const slot = this.connectionLimits.open(session.remoteAddress, role === 'mx' ? 'smtp' : role)
    this.slots.set(session, slot)
    if (slot.accepted && this.spamChecked(role)) this.tellSpam('spam.connect', {session: session.id, remoteAddress: session.remoteAddress, localAddress: session.localAddress})
    // the MX verifies its mail there and submission signs there: they come up while the client talks
    if (slot.accepted && this.bus.has('mailauth.warm')) this.bus.call('mailauth.warm', {}).catch((err: unknown) => this.log.error({err}, 'mail-auth threads failed to start'))
    cb(slot.accepted ? undefined : reply.tooManyConnections())
  }

  /** also called for connections that closed before onConnect (they hold no slot) */
  private onClose(role: Role, session: SmtpSession): void {
    this.slots.get(session)?.release()
    this.slots.delete(session)
    if (this.spamChecked(role)) this.tellSpam('spam.close', {session: session.id})
  }

  /** a spam action whose reply nobody waits for (its handler runs now, in order with the others) */
  private tellSpam<A extends 'spam.connect' | 'spam.close' | 'spam.helo'>(action: A, body: Request<A>): void {
    this.bus.call(action, body).catch((err: unknown) => this.log.error({err, action}, 'spam check failed'))
  }

  private async onAuth(auth: SmtpAuth, session: SmtpSession, cb: (err: Error | null | undefined, res?: {user: string}) => void) {
    try {
      const {address} = await this.bus.call('auth.login', {
        username: auth.username ?? '',
        password: auth.password ?? '',
        remoteAddress: session.remoteAddress,
        protocol: 'smtp',
        mechanism: auth.method as LoginMechanism, // authMethods allows only PLAIN and LOGIN
        tls: sessionTls(session).tls,
      })
      cb(null, {user: address})
    } catch (err) {
      cb(isMailboxError(err, 'throttled') ? reply.authThrottled() : reply.authFailed())
    }
  }

  private async onMailFrom(role: Role, address: SmtpAddress, session: Session, cb: (err?: Error | null) => void) {
    session.mbx = {local: new Set(), remote: new Set()}
    // the HELO name is known by now: its checks run while the client sends recipients and data
    if (this.spamChecked(role)) this.tellSpam('spam.helo', {session: session.id, helo: session.hostNameAppearsAs || ''})
    if (!address.address) return cb(session.user ? reply.badSender() : undefined) // <> is for bounces, not submissions
    let sender: string
    try {
      sender = normalizeAddress(address.address)
    } catch {
      return cb(reply.badSender())
    }
    if (!session.user) return cb()
    try {
      const {allowed} = await this.bus.call('auth.sender', {user: String(session.user), sender})
      cb(allowed ? undefined : reply.senderNotOwned())
    } catch (err) {
      this.log.error({err, sender}, 'sender check failed')
      cb(reply.localError())
    }
  }

  private async onRcptTo(role: Role, address: SmtpAddress, session: Session, cb: (err?: Error | null) => void) {
    let rcpt: string
    try {
      rcpt = normalizeAddress(address.address)
    } catch {
      return cb(reply.badRecipient())
    }
    try {
      if (this.options.capture) {
        const fault = await this.bus.call('capture.fault', {stage: 'rcpt', recipients: [rcpt]})
        if (fault) return cb(ruleReply(fault.code, fault.text))
      }
      const {local, remote} = await this.bus.call('mailstore.resolve', {address: rcpt, capture: this.options.capture, size: declaredSize(session)})
      const relaying = remote.length > 0 && local.length === 0 && remote[0] === rcpt
      if (relaying && !session.user) return cb(reply.relayDenied())
      // only now: a relay refusal or an unknown user gets its own reply, never a 450 to retry
      if (local.length > 0 && !this.options.capture && this.bus.has('greylist.check')) {
        const wait = await this.bus.call('greylist.check', {session: session.id, remoteAddress: session.remoteAddress, mailFrom: envelopeSender(session), rcpt, authenticated: Boolean(session.user)})
        if (wait) return cb(reply.greylisted(wait.retryInSeconds))
      }
      const tx = (session.mbx ??= {local: new Set(), remote: new Set()})
      for (const u of local) tx.local.add(u)
      for (const r of remote) tx.remote.add(r)
      cb()
    } catch (err) {
      if (!isMailboxError(err)) {
        this.log.error({err, rcpt}, 'recipient check failed')
        return cb(reply.localError())
      }
      if (err.code === 'disabled') return cb(reply.mailboxDisabled())
      if (err.code === 'quota') return cb(reply.mailboxFull())
      if (err.code === 'invalid') return cb(reply.badRecipient())
      if (err.code === 'conflict') return cb(reply.loop())
      if (this.spamChecked(role) && (await this.bus.call('spam.unknownRecipient', {session: session.id})).close) return cb(reply.tooManyUnknownRecipients())
      cb(err instanceof SrsRefused ? reply.srsRefused(err.why) : reply.unknownUser())
    }
  }

  private onData(role: Role, message: IncomingMessage, session: Session, cb: (err?: Error | null, text?: string) => void): void {
    // the message as it arrives, in pieces: joined by the mailstore, behind our headers (on the
    // MX, copied once before that for the verifier thread, which hands the copy back to be stored:
    // see authenticate)
    const pieces: Buffer[] = []
    const hold = this.budget.hold({pause: () => this.pauseData(message, session, true), resume: () => this.pauseData(message, session, false)})
    message.ondata = (chunk) => {
      pieces.push(chunk)
      hold.take(chunk.length)
    }
    // too big (the layer refuses it with 552 5.3.4 at its end) or the client went away: keep nothing
    message.onabort = () => {
      pieces.length = 0
      hold.release()
    }
    message.onend = () => {
      void this.accept(role, session, pieces).then(
        (id) => {
          hold.release()
          cb(null, `Ok: queued as ${id}`)
        },
        (err: unknown) => {
          hold.release()
          if (err instanceof SieveRejected) return cb(reply.sieveRejected(err.reason))
          if (err instanceof SmtpError || typeof (err as {responseCode?: unknown}).responseCode === 'number') return cb(err as Error)
          this.log.error({err}, 'delivery failed')
          cb(reply.localError())
        },
      )
    }
  }

  /** Stops (or restarts) reading a session's message for the budget (the layer suspends its idle timeout meanwhile). */
  private pauseData(message: IncomingMessage, session: Session, pause: boolean): void {
    if (pause) message.pause()
    else message.resume()
    this.log.debug({session: session.id, pause, buffered: this.budget.bytes}, pause ? 'message paused for the memory budget' : 'message resumed')
  }

  private async accept(role: Role, session: Session, pieces: Buffer[]): Promise<string> {
    const tx = session.mbx ?? {local: new Set<string>(), remote: new Set<string>()}
    if (countReceived(headOf(pieces, RECEIVED_SCAN)) > this.options.limits.maxReceivedHeaders) throw reply.loop()
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
    // normalized as at RCPT time, so rules, the matcher and the stored envelope agree
    const rcptTo = session.envelope.rcptTo.map((r) => normalizeAddress(r.address))
    if (this.options.capture) {
      const fault = await this.bus.call('capture.fault', {stage: 'data', recipients: rcptTo})
      if (fault) throw ruleReply(fault.code, fault.text)
    }
    if (session.user) await this.checkFromHeader(String(session.user), pieces)
    const id = newId()
    const size = pieces.reduce((n, piece) => n + piece.length, 0)
    // mail from outside: SPF, DKIM, DMARC and ARC, then spam (submission is authenticated; capture takes everything)
    const junk = role === 'mx' && !session.user && !this.options.capture ? await this.screen(id, session, mailFrom, rcptTo, pieces) : false
    const received = receivedHeader(session, this.options.hostname, id, rcptTo.length === 1 ? rcptTo[0] : undefined)
    pieces.unshift(received)
    const result = await this.bus.call('mailstore.deliver', {
      mailFrom,
      rcptTo,
      local: [...tx.local],
      remote: [...tx.remote],
      pieces,
      capture: this.options.capture,
      remoteAddress: session.remoteAddress,
      authenticated: Boolean(session.user),
      ...(junk ? {junk} : {}),
    })
    // the admin's line for this message, once it is durable: what Postfix's cleanup and qmgr lines say together
    this.log.info(
      {
        id: result.id,
        ...(result.queued.length ? {queued: result.queued} : {}),
        remoteAddress: session.remoteAddress,
        helo: clip(session.hostNameAppearsAs || ''),
        ...sessionTls(session),
        ...(session.user ? {user: String(session.user)} : {}),
        from: mailFrom,
        to: rcptTo,
        size,
        ...(result.messageId ? {messageId: clip(result.messageId)} : {}),
        ...(junk ? {junk} : {}),
      },
      'message accepted',
    )
    return result.id
  }

  /** Submission: every From header address must be one the user may send as (see ./from-header.ts). */
  private async checkFromHeader(user: string, pieces: Buffer[]): Promise<void> {
    for (const address of fromHeaderAddresses(headOf(pieces, RECEIVED_SCAN))) {
      const {allowed} = await this.bus.call('auth.sender', {user, sender: address})
      if (!allowed) throw reply.fromNotOwned(address)
    }
  }

  /**
   * Asks `mailauth.check`, then `spam.check`, about the message and replaces `pieces` with what
   * is to be stored (our Authentication-Results and X-Spam-* fields on top, forged ones removed).
   * Throws the refusal or deferral; returns whether the message goes to Junk.
   */
  private async screen(id: string, session: Session, mailFrom: string, rcptTo: string[], pieces: Buffer[]): Promise<boolean> {
    const helo = session.hostNameAppearsAs || ''
    const check = await this.bus.call('mailauth.check', {id, pieces, remoteAddress: session.remoteAddress, helo, mailFrom})
    if (check.action === 'reject') throw reply.authRefused(check.reason)
    if (check.action === 'defer') throw reply.authDeferred(check.reason)
    const spam = this.bus.has('spam.check')
      ? await this.bus.call('spam.check', {
          session: session.id,
          id,
          message: check.message,
          ...(check.header ? {authHeader: check.header} : {}),
          ...(check.verdict ? {auth: check.verdict} : {}),
          mailFrom,
          rcptTo,
          remoteAddress: session.remoteAddress,
          helo,
        })
      : undefined
    if (spam?.action === 'reject') throw reply.spamRefused(spam.reason)
    if (spam?.action === 'defer') throw reply.spamDeferred()
    pieces.length = 0
    pieces.push(...(check.header ? [check.header] : []), ...(spam?.headers ? [spam.headers] : []), spam?.message ?? check.message)
    return check.action === 'junk' || spam?.action === 'junk'
  }
}

/** `tls`: `none` or the TLS version (as src/tls-label.ts), and the cipher when there is one */
function sessionTls(session: SmtpSession): {tls: string; cipher?: string} {
  if (!session.secure) return {tls: 'none'}
  return session.tls ? {tls: session.tls.version || 'TLS', cipher: session.tls.cipher} : {tls: 'TLS'}
}

/** a header value in a log line: a client could make it as long as the header block */
const clip = (value: string, max = 256): string => (value.length > max ? value.slice(0, max) + '…' : value)

/** MAIL FROM as greylisting keys it: normalized, '' for the null sender, as given (lower case) when it does not parse */
function envelopeSender(session: SmtpSession): string {
  const address = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
  if (!address) return ''
  try {
    return normalizeAddress(address)
  } catch {
    return address.toLowerCase()
  }
}

/** the SIZE=n the client declared on MAIL FROM (RFC 1870), or 0 */
function declaredSize(session: SmtpSession): number {
  const size = session.envelope.mailFrom?.args.SIZE
  return typeof size === 'string' ? Number(size) || 0 : 0
}

/** RFC 5321 §4.4 trace header; `with` per RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA). */
function receivedHeader(session: SmtpSession, hostname: string, id: string, forRcpt?: string): Buffer {
  const helo = (session.hostNameAppearsAs || 'unknown').replace(/[^\x21-\x7e]/g, '')
  const proto = session.transmissionType // ESMTP, ESMTPS, ESMTPSA … (RFC 3848)
  const date = new Date().toUTCString().replace('GMT', '+0000')
  return Buffer.from(
    `Received: from ${helo} ([${session.remoteAddress}])\r\n\tby ${hostname} (mailbox) with ${proto} id ${id}` +
      `${forRcpt ? `\r\n\tfor <${forRcpt}>` : ''};\r\n\t${date}\r\n`,
  )
}

/** how much of a message's start is searched for Received headers */
const RECEIVED_SCAN = 256 * 1024

/** the first `max` bytes of a message in pieces, joining only the pieces needed (usually none) */
function headOf(pieces: Buffer[], max: number): Buffer {
  const first = pieces[0] ?? Buffer.alloc(0)
  if (pieces.length <= 1 || first.length >= max) return first.subarray(0, max)
  let n = 0
  let length = 0
  while (n < pieces.length && length < max) length += pieces[n++]!.length
  return Buffer.concat(pieces.slice(0, n), Math.min(length, max))
}

/** Received fields in the header (up to the first empty line); only the header is made a string */
function countReceived(message: Buffer): number {
  const ends = [message.indexOf('\n\n'), message.indexOf('\n\r\n')].filter((i) => i !== -1)
  const header = message.toString('latin1', 0, ends.length ? Math.min(...ends) + 1 : message.length)
  return header.match(/^received:/gim)?.length ?? 0
}
