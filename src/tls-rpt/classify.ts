/**
 * What one outbound session to an MX host counts as in a TLS report when no policy (MTA-STS,
 * DANE) applied (RFC 8460 §4.3), from what the session saw of TLS:
 *
 * - verified TLS: a success;
 * - TLS whose certificate did not verify: a failure by why (host name, expiry, trust, else
 *   `validation-failure`), Node's verification code as the failure-reason-code;
 * - no TLS: `starttls-not-supported` when the server did not offer STARTTLS or refused the
 *   command (the session went on in plaintext);
 * - a TLS handshake that failed after STARTTLS (the session ended there): `validation-failure`
 *   with the error's code;
 * - a session that never reached STARTTLS (connection refused, no greeting, a refusal at the
 *   greeting) is no TLS result and is not counted.
 *
 * Runs in the sender thread (../delivery/deliverer.ts): the outcome is plain data for the main thread.
 */
import type {TlsInfo} from '../delivery/outbound-tls.js'
import type {TlsFailureType, TlsOutcome} from './outcome.js'

/** Node's name check, and OpenSSL's host name code */
const HOST_MISMATCH = /ALTNAME|HOSTNAME_MISMATCH|IP_ADDRESS_MISMATCH/
const EXPIRED = /^CERT_HAS_EXPIRED$/
const NOT_TRUSTED = /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF|CERT_UNTRUSTED|CERT_REJECTED|INVALID_CA|CERT_CHAIN_TOO_LONG/

/** the report's result type for a certificate that did not verify, by Node's code */
export function certificateFailure(code: string): TlsFailureType {
  if (HOST_MISMATCH.test(code)) return 'certificate-host-mismatch'
  if (EXPIRED.test(code)) return 'certificate-expired'
  if (NOT_TRUSTED.test(code)) return 'certificate-not-trusted'
  return 'validation-failure'
}

/** what the deliverer knows about one session it opened (or failed to) */
export type SessionTlsFacts =
  | {opened: true; tls: TlsInfo; offeredStartTls: boolean}
  /** `tlsError`: the code of a failure during the TLS upgrade; absent: it failed before that */
  | {opened: false; tlsError?: string}

/** the failure a session counts as; `null`: a success; undefined: not a TLS result */
export function failureOf(facts: SessionTlsFacts): TlsOutcome['failure'] | null | undefined {
  if (!facts.opened) return facts.tlsError === undefined ? undefined : {type: 'validation-failure', detail: facts.tlsError}
  const {tls} = facts
  if (tls.state === 'verified') return null
  if (tls.state === 'encrypted') {
    const code = tls.unverified ?? 'not verified'
    return {type: certificateFailure(code), detail: code}
  }
  return facts.offeredStartTls ? {type: 'starttls-not-supported', detail: 'STARTTLS refused'} : {type: 'starttls-not-supported'}
}

/** The outcome of a session to `mx` at `ip` for mail to `domain`, under no policy; undefined: nothing to count. */
export function sessionOutcome(domain: string, mx: string, ip: string, facts: SessionTlsFacts, at = Date.now()): TlsOutcome | undefined {
  const failure = failureOf(facts)
  if (failure === undefined) return undefined
  return {
    policyDomain: domain,
    policy: {type: 'no-policy-found'},
    at,
    receivingMxHostname: mx.replace(/\.$/, '').toLowerCase(),
    receivingIp: ip,
    ...(failure ? {failure} : {}),
  }
}
