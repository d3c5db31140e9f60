/**
 * What one outbound SMTP session's TLS came to, for the TLS reports of RFC 8460: delivery (with
 * the MTA-STS policy it applied, if any) says it once per session to a recorder, which counts
 * them per policy domain and day (see ./ for the recorder and the daily report).
 */

/** RFC 8460 §4.3 result types this server can tell apart */
export type TlsFailureType =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid'

/** the policy that applied to the session, as the report names it (RFC 8460 §4.4) */
export interface TlsPolicyApplied {
  type: 'sts' | 'no-policy-found'
  /** sts: the policy's text split into lines, as fetched */
  policyString?: string[]
  /** sts: the policy's mx patterns */
  mxHost?: string[]
}

export interface TlsOutcome {
  /** the recipient domain whose policy applied (lower-case A-label) */
  policyDomain: string
  policy: TlsPolicyApplied
  /** epoch ms when the session ended */
  at: number
  /** the MX host name connected to */
  receivingMxHostname: string
  receivingIp?: string
  /** undefined: TLS was set up as the policy asked (a success) */
  failure?: {type: TlsFailureType; detail?: string}
}

/** what delivery calls; the TLS-RPT part implements it, and a no-op stands in when reporting is off */
export interface TlsOutcomeRecorder {
  record(outcome: TlsOutcome): void
}
