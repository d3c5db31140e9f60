/**
 * What delivery does with a domain's MTA-STS decision (./policies.ts), in the sender thread: is an
 * MX host in the policy, and what each session's TLS came to for the TLS report (RFC 8460
 * result types; the contract is ../tls-rpt/outcome.ts). The decision is plain data: it crosses
 * from the main thread with each attempt.
 */
import type {AttemptTls} from '../store/records.js'
import type {TlsFailureType, TlsOutcome, TlsPolicyApplied} from '../tls-rpt/outcome.js'
import {mxMatches, type StsMode} from './policy.js'

export interface StsDecision {
  /** the policy domain: the recipient domain, lower-case A-label */
  domain: string
  /** the policy in force (fetched now or cached); absent: the record names one that could not be had */
  policy?: {mode: StsMode; mx: string[]; text: string}
  /** why the record's policy could not be had (and no cached one stood in) */
  failure?: {type: TlsFailureType; detail: string}
}

export type TlsFailure = NonNullable<TlsOutcome['failure']>

/** the policy whose rules apply: testing or enforce (a `none` policy is as none) */
export const activePolicy = (decision: StsDecision | undefined) => (decision?.policy && decision.policy.mode !== 'none' ? decision.policy : undefined)

export const enforced = (decision: StsDecision | undefined): boolean => activePolicy(decision)?.mode === 'enforce'

/** whether `host` may receive the domain's mail by its policy (no active policy: any) */
export function mxAllowed(decision: StsDecision | undefined, host: string): boolean {
  const policy = activePolicy(decision)
  return !policy || mxMatches(policy.mx, host)
}

/** the policy a session's report names (RFC 8460 §4.4) */
export function policyApplied(decision: StsDecision | undefined): TlsPolicyApplied {
  const policy = activePolicy(decision)
  if (policy) return {type: 'sts', policyString: policy.text.split(/\r?\n/).filter(Boolean), mxHost: policy.mx}
  // a record that named a policy which could not be had: reported under sts, with the fetch's failure
  return decision?.failure ? {type: 'sts'} : {type: 'no-policy-found'}
}

/** RFC 8460 §4.3 for an OpenSSL / Node verification error code */
export function certificateFailure(code: string): TlsFailureType {
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(code)) return 'certificate-expired'
  if (/ALTNAME_INVALID|HOSTNAME_MISMATCH/.test(code)) return 'certificate-host-mismatch'
  return 'certificate-not-trusted'
}

/**
 * What a session's TLS lacked (RFC 8460 §4.3): no TLS is `starttls-not-supported` (STARTTLS not
 * offered, or refused and the session went on in plaintext); a certificate that did not verify
 * for the MX name fails by why. Without a policy too: delivery took any certificate
 * (opportunistic TLS), but the report tells the domain what a policy would meet.
 */
export function tlsFailureOf(tls: AttemptTls, offeredStartTls = false): TlsFailure | undefined {
  if (tls.state === 'none') return {type: 'starttls-not-supported', detail: offeredStartTls ? 'STARTTLS refused' : 'no TLS'}
  if (tls.state === 'verified') return undefined
  const code = tls.unverified ?? 'not verified'
  return {type: certificateFailure(code), detail: code}
}

/** one session's outcome (or one MX host refused by the policy before any session) */
export function tlsOutcome(domain: string, decision: StsDecision | undefined, host: string, address: string | undefined, failure: TlsFailure | undefined): TlsOutcome {
  // a policy that could not be had is the failure of every session under it
  const why = (!activePolicy(decision) && decision?.failure) || failure
  return {
    policyDomain: decision?.domain ?? domain,
    policy: policyApplied(decision),
    at: Date.now(),
    receivingMxHostname: host.replace(/\.$/, ''),
    ...(address ? {receivingIp: address} : {}),
    ...(why ? {failure: why} : {}),
  }
}
