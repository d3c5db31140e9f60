/**
 * Config key `tlsRpt`: the daily TLS reports (RFC 8460) this server sends to the domains it
 * delivers mail to, when they ask for them (`_smtp._tls` TXT record). On by default, as mox does:
 * a report costs a DNS lookup per destination domain a day, and is the only way a domain learns
 * that senders cannot reach its MX hosts over TLS (an expired certificate, a stripped STARTTLS).
 */
import type {TlsReportBounds} from '../store/tls-report-rules.js'

export interface TlsRptConfig {
  /** count outbound TLS sessions and send the reports */
  enabled: boolean
  /** From of report mail; unset: postmaster@ the hostname's domain (see reportSender) */
  from?: string
  /** the report's organization-name; unset: the hostname's domain */
  organizationName?: string
  /** the report's contact-info; unset: the From address */
  contact?: string
  /** how often the report task looks for finished days to report */
  intervalMs: number
  /** how long after a UTC day ends its reports go out; negative (down to a day) sends a day's before it ends (tests) */
  sendAfterMs: number
  /** counts older than this are removed, sent or not */
  retentionMs: number
  /** how often counts gathered in memory are written to the store (a crash loses at most this window) */
  flushMs: number
  /** failure-details rows per policy domain and day */
  maxDetails: number
  /** runs that try a day's report (DNS or an https destination failing) before it is given up */
  maxAttempts: number
  /** an https report destination must answer within this */
  httpTimeoutMs: number
}

export const DEFAULT_TLS_RPT: TlsRptConfig = {
  enabled: true,
  intervalMs: 3600_000,
  sendAfterMs: 15 * 60_000,
  retentionMs: 14 * 24 * 3600_000,
  flushMs: 5000,
  maxDetails: 100,
  maxAttempts: 6,
  httpTimeoutMs: 30_000,
}

/** (domain, day) pairs the recorder holds between flushes at most */
export const MAX_PENDING_DAYS = 10_000

export const boundsOf = (config: TlsRptConfig): TlsReportBounds => ({maxDetails: config.maxDetails, maxPolicies: 10})
