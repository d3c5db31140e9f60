/**
 * What the SMTP protocol layer shares with its user: the session the hooks see, the hooks, and a
 * listener's options. The hooks keep smtp-server's shape (callbacks, `err.responseCode` as the
 * reply code of a refusal) so the front-end reads like code written against smtp-server.
 */
import type {Logger} from '../../log.js'
import type {SmtpAddress} from './address.js'
import type {IncomingMessage} from './incoming-message.js'
import type {SmtpAuth} from './sasl.js'

export type {SmtpAddress} from './address.js'
export type {SmtpAuth} from './sasl.js'

/** RFC 3848's `with` values */
export type TransmissionType = 'SMTP' | 'ESMTP' | 'ESMTPS' | 'ESMTPA' | 'ESMTPSA' | 'SMTPS' | 'SMTPA' | 'SMTPSA'

export interface SmtpSession {
  /** unique in this process: what logs and the spam actor know the connection by */
  readonly id: string
  readonly remoteAddress: string
  readonly localAddress: string
  secure: boolean
  /** the negotiated protocol and cipher, once secure */
  tls: {version: string; cipher: string} | undefined
  /** what onAuth returned, once authenticated */
  user: string | undefined
  /** the HELO/EHLO argument, lower case ('' before one) */
  hostNameAppearsAs: string
  transmissionType: TransmissionType
  envelope: {mailFrom: SmtpAddress | undefined; rcptTo: SmtpAddress[]}
}

/** a hook's answer: an error (its `responseCode` and message are the reply) or nothing for success */
export type HookCallback = (err?: (Error & {responseCode?: number}) | null) => void

export interface SmtpHooks {
  /** a refusal closes the connection with its reply */
  onConnect(session: SmtpSession, cb: HookCallback): void
  /** once per connection that got onConnect, after its socket closed */
  onClose(session: SmtpSession): void
  onAuth(auth: SmtpAuth, session: SmtpSession, cb: (err: (Error & {responseCode?: number}) | null | undefined, result?: {user: string}) => void): void
  onMailFrom(address: SmtpAddress, session: SmtpSession, cb: HookCallback): void
  onRcptTo(address: SmtpAddress, session: SmtpSession, cb: HookCallback): void
  /**
   * The message as it arrives (see IncomingMessage). `cb` gives the final reply: an error, or the
   * text of the 250. It is not called for a message the layer refuses itself (too big, client gone):
   * the message's `onabort` says so.
   */
  onData(message: IncomingMessage, session: SmtpSession, cb: (err?: (Error & {responseCode?: number}) | null, text?: string) => void): void
}

/** a listener's limits, read at each new connection (a reload changes them for the next ones) */
export interface ListenerLimits {
  maxMessageSize: number
  maxRecipients: number
  maxConnections: number
  socketTimeoutMs: number
  closeTimeoutMs: number
  /** 0: greet at once */
  greetingDelayMs: number
}

export interface ListenerOptions {
  /** our name in the greeting and EHLO */
  hostname: string
  /** implicit TLS (SMTPS, RFC 8314) */
  implicitTls: boolean
  /** submission: AUTH offered (once secure, or always with allowInsecureAuth) and required for MAIL */
  auth: boolean
  allowInsecureAuth: boolean
  limits: () => ListenerLimits
  /** the transcript (`C:`/`S:`) goes here at trace level */
  log?: Logger
}
