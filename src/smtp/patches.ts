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
 */
import {SMTPConnection} from 'smtp-server/lib/smtp-connection.js'

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /
const PATCHED = Symbol.for('mailbox.smtp.patched')

interface ConnectionInternals {
  secure: boolean
  session: {disabledCommands?: string[]}
  _server: {options: {allowInsecureAuth?: boolean; disabledCommands?: string[]}}
  send(code: number, data: unknown, context?: unknown): void
  handler_EHLO(command: Buffer, callback: () => void): void
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
