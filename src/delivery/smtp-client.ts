/**
 * Outbound SMTP over nodemailer's SMTP connection. A session is one connection to one host:
 * EHLO with our hostname, TLS by the hop's level (outbound-tls.ts: opportunistic STARTTLS for
 * MX hosts, verified TLS required before AUTH for a hop with credentials), AUTH for a smarthost;
 * then it can carry several messages (RSET only after a transaction that did not end with the
 * server's reply to the data: a completed one leaves no state, RFC 5321 §4.1.1.4), which is how one sender drains a
 * destination's queue over one connection. Every recipient gets its own result, and the SMTP
 * conversation (commands and replies, never a message body or a credential) is kept as each
 * attempt's transcript, with the TLS the connection got.
 */
import {isIP} from 'node:net'
import type {SecureContext} from 'node:tls'
import SMTPConnection from 'nodemailer/lib/smtp-connection'
import type {TlsOutcome} from '../tls-rpt/outcome.js'
import {TlsRefusal, describeTls, refusalOf, tlsInfoOf, tlsOptionsFor, unverifiedRefusal, type TlsInfo} from './outbound-tls.js'
import type {NextHop} from './route.js'

export type RecipientOutcome = 'delivered' | 'deferred' | 'failed'

export interface RecipientResult {
  address: string
  outcome: RecipientOutcome
  /** the server's reply, or what went wrong */
  reply: string
}

export interface AttemptResult {
  /** the next hop as named: `mx.example.net:25` */
  host: string
  /** the address the attempt connected to (or, when it could not, tried last): `192.0.2.5:25`, `[2001:db8::5]:25` */
  address?: string
  recipients: RecipientResult[]
  transcript: string[]
  /** the TLS of the connection that carried the attempt (absent: no session was set up) */
  tls?: TlsInfo
  /**
   * for TLS reports (RFC 8460): one per SMTP session this attempt opened to an MX host (a kept
   * connection counts once, when opened), and per MX host the domain's MTA-STS policy ruled out;
   * absent when it opened none (a kept connection, a route, the smarthost)
   */
  tlsOutcomes?: TlsOutcome[]
}

export interface ClientOptions {
  hostname: string
  connectTimeoutMs: number
  socketTimeoutMs: number
  /** trust for `verify` hops; absent: Node's default trust store */
  verifyContext?: SecureContext
  /** trust for MX hosts (Node's plus mtaSts.caFile): required under an enforce policy, recorded otherwise; absent: Node's */
  stsContext?: SecureContext
}

const MAX_TRANSCRIPT_LINES = 200

/** an IP address and port as one string, IPv6 in brackets */
export const peerAddress = (ip: string, port: number): string => (isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`)

/** 5xx is permanent; 4xx, timeouts and connection trouble are temporary (RFC 5321 §4.2.1). */
export const outcomeOf = (code: number | undefined): RecipientOutcome => (code !== undefined && code >= 500 && code < 600 ? 'failed' : 'deferred')

type SmtpFailure = Error & {code?: string; responseCode?: number; response?: string; rejectedErrors?: Error[]}

export class SmtpSession {
  /** lines of the attempt in progress; the connection's own lines go to the first attempt */
  private transcript: string[] = []
  private awaitingCredentials = false
  private broken = false
  /** a MAIL transaction may still be open on the server (a refused RCPT, an error): RSET before the next */
  private dirty = false
  /** whether an EHLO reply listed STARTTLS (to say why a `verify` session failed, and for the TLS report) */
  offeredStartTls = false
  /** the server said 2xx to STARTTLS: a failure from here until TLS is up is the handshake's */
  private upgrading = false
  private sentStartTls = false
  readonly host: string
  readonly address: string
  /** the hop's host name, without the port (an MX host: what an MTA-STS policy's mx lines match) */
  readonly hostName: string
  tls: TlsInfo = {state: 'none'}

  private constructor(
    private readonly connection: SMTPConnection,
    hop: NextHop,
    address: string,
  ) {
    this.host = `${hop.host}:${hop.port}`
    this.hostName = hop.host
    this.address = peerAddress(address, hop.port)
  }

  /**
   * Connects (and logs in, for a smarthost). Rejects with the failure and the lines seen so far;
   * for a `verify` hop without verified TLS, with a TlsRefusal, before AUTH is sent.
   */
  static open(hop: NextHop, address: string, options: ClientOptions): Promise<SmtpSession> {
    let session!: SmtpSession
    // nodemailer logs each line with {tnx: 'client' | 'server'}; the message body only as a byte count
    const log = (entry: {tnx?: string} | undefined, message: string, ...args: unknown[]) => session?.log(entry, message, args)
    const logger = {level: () => {}, trace: log, debug: log, info: log, warn: log, error: log, fatal: log}
    const connection = new SMTPConnection({
      host: address,
      port: hop.port,
      name: options.hostname,
      ...tlsOptionsFor(hop, options.verifyContext, options.stsContext),
      connectionTimeout: options.connectTimeoutMs,
      greetingTimeout: options.connectTimeoutMs,
      socketTimeout: options.socketTimeoutMs,
      logger: logger as never,
      debug: true,
      allowInternalNetworkInterfaces: true,
    })
    session = new SmtpSession(connection, hop, address)
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        session.broken = true
        session.note(`!: ${err.message}`)
        // a `verify` hop that failed for want of verified TLS says so, in words an operator can act on
        const refusal = err instanceof TlsRefusal || (hop.tls !== 'verify' && hop.sts?.mode !== 'enforce') ? undefined : refusalOf(err, hop, session.offeredStartTls)
        if (refusal) session.note(`!: ${refusal.message}`)
        const tlsError = session.upgrading && !connection.secure ? {tlsError: String((err as {originalCode?: string}).originalCode ?? (err as {code?: string}).code ?? 'handshake failed')} : {}
        reject(Object.assign(refusal ?? err, {transcript: session.takeTranscript(), ...tlsError}))
        // idempotent; a refused login or our own refusal would leave it open; late errors are moot
        connection.removeListener('error', fail)
        connection.on('error', () => {})
        connection.close()
      }
      connection.once('error', fail)
      connection.connect(() => {
        session.tls = tlsInfoOf(connection)
        session.note(`-- tls: ${describeTls(session.tls)}`)
        const ready = () => {
          connection.removeListener('error', fail)
          connection.on('error', () => (session.broken = true))
          resolve(session)
        }
        // RFC 8461 §4.2: under an enforce policy, no mail without a certificate verified for the MX name
        if (hop.sts?.mode === 'enforce' && session.tls.state !== 'verified') return fail(unverifiedRefusal(hop, session.tls))
        if (!hop.auth) return ready()
        // nodemailer's requireTLS and rejectUnauthorized already stop an unverified session;
        // this is the rule itself, checked where the credentials would leave
        if (hop.tls === 'verify' && session.tls.state !== 'verified') {
          return fail(new TlsRefusal(`relay host ${session.host}: TLS ${describeTls(session.tls)} is not verified; refusing to send credentials`, '451 4.7.5'))
        }
        connection.login({user: hop.auth.user, pass: hop.auth.pass}, (err) => (err ? fail(err as Error) : ready()))
      })
    })
  }

  get usable(): boolean {
    return !this.broken
  }

  /**
   * One message over this connection. RSET first only when the previous transaction did not
   * complete: after a 250 to the data the server's state is already clean, and a round trip per
   * message is a fifth of the conversation.
   */
  async send(from: string, recipients: string[], raw: Buffer): Promise<AttemptResult> {
    if (this.dirty) {
      try {
        await this.resetSession()
        this.dirty = false
      } catch (err) {
        this.broken = true
        return this.all(recipients, outcomeOf((err as SmtpFailure).responseCode), (err as Error).message)
      }
    }
    this.dirty = true
    return new Promise((resolve) => {
      this.connection.send({from, to: recipients}, raw, (err, info) => {
        const refused = err as SmtpFailure | null
        if (!refused) this.dirty = false
        // every recipient refused at RCPT (EENVELOPE): each still gets its own reply, 4xx or 5xx
        if (refused && !(refused.code === 'EENVELOPE' && refused.rejectedErrors?.length)) {
          if (refused.code !== 'EENVELOPE' && refused.code !== 'EMESSAGE') this.broken = true
          this.note(`!: ${refused.message}`)
          return resolve(this.all(recipients, outcomeOf(refused.responseCode), refused.response ?? refused.message))
        }
        if (refused) this.note(`!: ${refused.message}`)
        const rejected = new Map<string, {code?: number; reply: string}>()
        for (const e of (refused ? refused.rejectedErrors : info.rejectedErrors) ?? []) {
          const rcpt = (e as {recipient?: string}).recipient
          if (rcpt) rejected.set(rcpt, {code: (e as {responseCode?: number}).responseCode, reply: (e as {response?: string}).response ?? e.message})
        }
        resolve({
          host: this.host,
          address: this.address,
          tls: this.tls,
          transcript: this.takeTranscript(),
          recipients: recipients.map((r) => {
            const no = rejected.get(r)
            if (no) return {address: r, outcome: outcomeOf(no.code), reply: no.reply}
            return refused ? {address: r, outcome: outcomeOf(refused.responseCode), reply: refused.response ?? refused.message} : {address: r, outcome: 'delivered', reply: info.response}
          }),
        })
      })
    })
  }

  /**
   * RSET. nodemailer calls back a reset only when a reply comes: a connection that drops while
   * RSET waits emits 'error' or 'end' and leaves the callback pending forever (and the sender
   * with it), so either event fails the reset here.
   */
  private resetSession(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const lost = () => settle(Object.assign(new Error('the connection closed during RSET'), {code: 'ECONNECTION'}))
      const settle = (err?: Error | null) => {
        this.connection.removeListener('error', lost)
        this.connection.removeListener('end', lost)
        if (err) reject(err)
        else resolve()
      }
      this.connection.once('error', lost)
      this.connection.once('end', lost)
      this.connection.reset((err) => settle(err))
    })
  }

  close(): void {
    try {
      this.connection.quit()
    } catch {
      this.connection.close()
    }
  }

  private all(recipients: string[], outcome: RecipientOutcome, reply: string): AttemptResult {
    return {host: this.host, address: this.address, tls: this.tls, transcript: this.takeTranscript(), recipients: recipients.map((address) => ({address, outcome, reply}))}
  }

  private takeTranscript(): string[] {
    const lines = this.transcript
    this.transcript = []
    return lines
  }

  private note(line: string): void {
    if (this.transcript.length < MAX_TRANSCRIPT_LINES) this.transcript.push(line)
  }

  private log(entry: {tnx?: string} | undefined, message: string, args: unknown[]): void {
    const side = entry?.tnx === 'client' ? 'C' : entry?.tnx === 'server' ? 'S' : undefined
    if (!side) return
    let line = String(message)
    for (const a of args) line = line.replace(/%s/, String(a))
    for (const part of line.split(/\r?\n/)) {
      // never keep credentials: AUTH arguments and the LOGIN exchange's base64 lines
      const secret = side === 'C' && (/^AUTH /i.test(part) || this.awaitingCredentials)
      this.note(`${side}: ${secret ? (/^AUTH /i.test(part) ? part.replace(/^(AUTH \S+).*/i, '$1') + ' ***' : '***') : part}`)
      if (side === 'C') this.sentStartTls = /^STARTTLS$/i.test(part)
      if (side === 'S') {
        if (this.sentStartTls && /^2\d\d /.test(part)) this.upgrading = true
        this.awaitingCredentials = /^334 /.test(part)
        if (/^250[ -]STARTTLS\b/i.test(part)) this.offeredStartTls = true
      }
    }
  }
}
