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
 * An MX host under the recipient domain's MTA-STS policy (RFC 8461 §4.2, see ../mta-sts/):
 * `enforce` requires STARTTLS, and the certificate must verify for the MX name (checked once the
 * session is up, so the refusal can say why); `testing` goes as `may`. Both check the chain
 * against Node's trust plus `mtaSts.caFile`.
 *
 * Every attempt records what it got: `none`, `encrypted` (with why the certificate did not
 * verify) or `verified`, with the protocol version.
 */
import {isIP} from 'node:net'
import {TLSSocket, type ConnectionOptions, type SecureContext} from 'node:tls'
import type SMTPConnection from 'nodemailer/lib/smtp-connection'
import {certificateFailure, type TlsFailure} from '../mta-sts/outcome.js'
import type {AttemptTls} from '../store/records.js'
import type {NextHop} from './route.js'

/** kept with each attempt in the delivery log */
export type TlsInfo = AttemptTls

/** SMTPConnection options for the hop's TLS level; `stsContext`: the trust for hops under an MTA-STS policy. */
export function tlsOptionsFor(hop: NextHop, verifyContext?: SecureContext, stsContext?: SecureContext): {requireTLS?: boolean; opportunisticTLS?: boolean; servername?: string; tls: ConnectionOptions} {
  // SNI and the name check use the host name; an address literal is checked against the
  // certificate's IP entries (an IP in SNI is not allowed, RFC 6066 §3)
  const servername = isIP(hop.host) ? {} : {servername: hop.host}
  if (hop.tls === 'verify') return {requireTLS: true, ...servername, tls: {rejectUnauthorized: true, ...(verifyContext ? {secureContext: verifyContext} : {})}}
  // not rejected in the handshake: the session checks `verified` itself and says why it is not
  const trust = hop.sts && stsContext ? {secureContext: stsContext} : {}
  if (hop.sts?.mode === 'enforce') return {requireTLS: true, ...servername, tls: {rejectUnauthorized: false, ...trust}}
  return {opportunisticTLS: true, ...servername, tls: {rejectUnauthorized: false, ...trust}}
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

/**
 * A session that may not go on: no verified TLS before AUTH, or before mail under an MTA-STS
 * policy in enforce mode. Always temporary (the entry is deferred).
 */
export class TlsRefusal extends Error {
  constructor(
    message: string,
    /** RFC 3463: 4.7.4 security features not supported, 4.7.5 cryptographic failure (as Postfix) */
    readonly reply: string,
    /** what the TLS report says of it (RFC 8460 §4.3) */
    readonly failure?: TlsFailure,
  ) {
    super(message)
  }
}

/** who refuses, for the messages: the smarthost's rule, or the recipient domain's policy */
const refuser = (hop: NextHop) =>
  hop.sts ? {who: `MTA-STS policy of ${hop.sts.domain} (${hop.sts.mode}): ${hop.host}`, then: 'not delivering', clear: 'not delivering'} : {who: `relay host ${hop.host}:${hop.port}`, then: 'refusing to send credentials', clear: 'refusing to send credentials in the clear'}

/** the refusal of an enforce-mode MTA-STS session whose certificate did not verify */
export function unverifiedRefusal(hop: NextHop, tls: TlsInfo): TlsRefusal {
  const {who, then} = refuser(hop)
  const code = tls.unverified ?? (tls.state === 'none' ? 'no TLS' : 'not verified')
  return new TlsRefusal(`${who}: certificate not verified: ${code}; ${then}`, '451 4.7.5', {type: certificateFailure(code), detail: code})
}

// OpenSSL's verification error codes and Node's name-check code
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH/

type Failure = Error & {code?: string; originalCode?: string; command?: string; response?: string}

/**
 * Turns a failure of a `verify` session before AUTH into the refusal that says why, or
 * undefined when it is ordinary trouble (connection refused, greeting timeout…).
 */
export function refusalOf(err: Failure, hop: NextHop, offeredStartTls: boolean): TlsRefusal | undefined {
  const {who, then, clear} = refuser(hop)
  const code = err.originalCode ?? err.code ?? ''
  // nodemailer with requireTLS sends STARTTLS even when it is not offered, and fails on the answer
  const noStartTls = (err.code === 'ETLS' && err.command === 'STARTTLS' && err.response) || (err.command === 'EHLO' && /STARTTLS/.test(err.message))
  if (noStartTls) {
    const why = offeredStartTls ? `refused STARTTLS (${err.response ?? err.message})` : 'offers no STARTTLS'
    return new TlsRefusal(`${who} ${why}; ${clear}`, '451 4.7.4', {type: 'starttls-not-supported', detail: why})
  }
  if (CERTIFICATE_ERROR.test(code)) return new TlsRefusal(`${who}: certificate not trusted: ${err.message} (${code}); ${then}`, '451 4.7.5', {type: certificateFailure(code), detail: code})
  if (err.code === 'ETLS' || code === 'UPGRADE_TIMEOUT') return new TlsRefusal(`${who}: TLS failed: ${err.message}; ${then}`, '451 4.7.5', {type: 'validation-failure', detail: err.message})
  return undefined
}
