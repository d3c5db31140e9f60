/**
 * Two narrow adjustments to smtp-server's SMTPConnection, applied once (idempotent):
 *
 * 1. Enhanced codes. smtp-server adds an RFC 3463 code to every reply from a table keyed by the
 *    basic code alone, so a hook error `550 Relaying denied` would go out as `550 5.1.1 …`
 *    (unknown mailbox). Our hook errors carry the right enhanced code at the start of their
 *    message; for exactly those replies smtp-server's guess is skipped.
 * 2. AUTH before TLS. smtp-server lists AUTH in EHLO even on a plaintext session where it will
 *    refuse it. Without allowInsecureAuth, EHLO on a plaintext session now omits AUTH (RFC 8314
 *    §3: no password offers in the clear), and the refusal uses RFC 3207's `530 5.7.0` instead
 *    of the non-standard 538.
 * 3. Greeting pause. smtp-server waits a fixed 100 ms before every 220 greeting to catch early
 *    talkers. That caps a client with 10 sessions at ~95 messages/s, so the pause is now the
 *    listener's `greetingDelayMs` option (0 = greet at once; an MX facing the internet may want
 *    a pause as a spam defence, like Postfix's postscreen greet pause).
 */
import {SMTPConnection} from 'smtp-server/lib/smtp-connection.js'

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /
const PATCHED = Symbol.for('mailbox.smtp.patched')

interface ConnectionInternals {
  name: string
  secure: boolean
  session: {disabledCommands?: string[]}
  _server: {
    connections: Set<unknown>
    options: {allowInsecureAuth?: boolean; disabledCommands?: string[]; maxClients?: number; greetingDelayMs?: number}
  }
  send(code: number, data: unknown, context?: unknown): void
  handler_EHLO(command: Buffer, callback: () => void): void
  init(): void
  connectionReady(): void
  _setListeners(callback: () => void): void
}

export function patchSmtpConnection(): void {
  const proto = SMTPConnection.prototype as unknown as ConnectionInternals & Record<PropertyKey, unknown>
  if (proto[PATCHED]) return
  proto[PATCHED] = true

  const send = proto.send
  proto.send = function (this: ConnectionInternals, code, data, context) {
    if (code === 538) return send.call(this, 530, '5.7.0 Must issue a STARTTLS command first', false)
    const own = context === undefined && typeof data === 'string' && ENHANCED.test(data)
    return send.call(this, code, data, own ? false : context)
  }

  // same as smtp-server 3.21's init(), with the pause taken from the options
  proto.init = function (this: ConnectionInternals) {
    this._setListeners(() => {
      const {maxClients, greetingDelayMs = 0} = this._server.options
      if (maxClients && this._server.connections.size > maxClients) {
        return this.send(421, this.name + ' Too many connected clients, try again in a moment', false)
      }
      if (greetingDelayMs > 0) setTimeout(() => this.connectionReady(), greetingDelayMs).unref()
      else setImmediate(() => this.connectionReady())
    })
  }

  const ehlo = proto.handler_EHLO
  proto.handler_EHLO = function (this: ConnectionInternals, command, callback) {
    if (this.secure || this._server.options.allowInsecureAuth) return ehlo.call(this, command, callback)
    const before = this.session.disabledCommands
    this.session.disabledCommands = [...(before ?? this._server.options.disabledCommands ?? []), 'AUTH']
    try {
      return ehlo.call(this, command, callback) // builds the feature list synchronously
    } finally {
      this.session.disabledCommands = before
    }
  }
}
