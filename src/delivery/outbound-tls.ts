/**
 * TLS for outbound SMTP sessions, by the hop's level (see route.ts):
 *
 * - `may`: STARTTLS when the server offers it, any certificate, plaintext when the upgrade is
 *   refused (nodemailer's opportunisticTLS). What was used is recorded, not enforced.
 * - `verify`: TLS required before anything else is said (nodemailer's requireTLS, or implicit
 *   TLS on port 465), the chain checked against the trust context and the host name checked
 *   (rejectUnauthorized); when that fails the session ends before AUTH with a refusal that
 *   says why, and the entry is deferred.
 *
 * Every attempt records what it got: `none`, `encrypted` (with why the certificate did not
 * verify) or `verified`, with the protocol version.
 */
import {isIP} from 'node:net'
import {TLSSocket, type ConnectionOptions, type SecureContext} from 'node:tls'
import type SMTPConnection from 'nodemailer/lib/smtp-connection'
import type {AttemptTls} from '../store/records.js'
import type {NextHop} from './route.js'

/** kept with each attempt in the delivery log */
export type TlsInfo = AttemptTls

/** SMTPConnection options for the hop's TLS level. */
export function tlsOptionsFor(hop: NextHop, verifyContext?: SecureContext): {requireTLS?: boolean; opportunisticTLS?: boolean; servername?: string; tls: ConnectionOptions} {
  // SNI and the name check use the host name; an address literal is checked against the
  // certificate's IP entries (an IP in SNI is not allowed, RFC 6066 §3)
  const servername = isIP(hop.host) ? {} : {servername: hop.host}
  if (hop.tls === 'verify') return {requireTLS: true, ...servername, tls: {rejectUnauthorized: true, ...(verifyContext ? {secureContext: verifyContext} : {})}}
  return {opportunisticTLS: true, ...servername, tls: {rejectUnauthorized: false}}
}

/** What the connection's TLS is, read from its socket once the session is set up. */
export function tlsInfoOf(connection: SMTPConnection): TlsInfo {
  const socket = connection._socket
  if (!connection.secure || !(socket instanceof TLSSocket)) return {state: 'none'}
  const protocol = socket.getProtocol() ?? undefined
  const base = protocol ? {protocol} : {}
  // Node sets authorizationError to the verification error's code (a string) even when not rejecting
  if (socket.authorized) return {state: 'verified', ...base}
  return {state: 'encrypted', ...base, unverified: String(socket.authorizationError ?? 'not verified')}
}

export function describeTls(info: TlsInfo): string {
  if (info.state === 'none') return 'none'
  const details = [info.protocol, info.unverified && `unverified: ${info.unverified}`].filter(Boolean).join('; ')
  return details ? `${info.state} (${details})` : info.state
}

/** A session that may not go on to AUTH: no verified TLS. Always temporary (the entry is deferred). */
export class TlsRefusal extends Error {
  constructor(
    message: string,
    /** RFC 3463: 4.7.4 security features not supported, 4.7.5 cryptographic failure (as Postfix) */
    readonly reply: string,
  ) {
    super(message)
  }
}

// OpenSSL's verification error codes and Node's name-check code
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH/

type Failure = Error & {code?: string; originalCode?: string; command?: string; response?: string}

/**
 * Turns a failure of a `verify` session before AUTH into the refusal that says why, or
 * undefined when it is ordinary trouble (connection refused, greeting timeout…).
 */
export function refusalOf(err: Failure, hop: NextHop, offeredStartTls: boolean): TlsRefusal | undefined {
  const who = `relay host ${hop.host}:${hop.port}`
  const code = err.originalCode ?? err.code ?? ''
  // nodemailer with requireTLS sends STARTTLS even when it is not offered, and fails on the answer
  const noStartTls = (err.code === 'ETLS' && err.command === 'STARTTLS' && err.response) || (err.command === 'EHLO' && /STARTTLS/.test(err.message))
  if (noStartTls) {
    const why = offeredStartTls ? `refused STARTTLS (${err.response ?? err.message})` : 'offers no STARTTLS'
    return new TlsRefusal(`${who} ${why}; refusing to send credentials in the clear`, '451 4.7.4')
  }
  if (CERTIFICATE_ERROR.test(code)) return new TlsRefusal(`${who}: certificate not trusted: ${err.message} (${code}); refusing to send credentials`, '451 4.7.5')
  if (err.code === 'ETLS' || code === 'UPGRADE_TIMEOUT') return new TlsRefusal(`${who}: TLS failed: ${err.message}; refusing to send credentials`, '451 4.7.5')
  return undefined
}
