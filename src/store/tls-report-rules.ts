/**
 * The counts behind the TLS reports of RFC 8460 (../tls-rpt/), and the one rule both backends
 * apply when they add to them: one record per (UTC day, policy domain) holding, per policy that
 * applied, the successful and failed sessions, and the failures broken down by (result type,
 * receiving MX, receiving IP, detail) up to a bound of rows. A failure past the bound still
 * counts in its policy's summary; only its row is left out (`droppedDetails` says how many).
 *
 * A day's record is `open` while it collects and until its report went out, then `done`: counts
 * that arrive for a done day (a session that ended just before midnight, flushed after the
 * report) are ignored, so a day is never reported twice. `leaseUntil` is a sender's claim (the
 * report task on one of several nodes): nobody else sends the day until it passes.
 */
import type {TlsFailureType, TlsPolicyApplied} from '../tls-rpt/outcome.js'

/** a UTC day, `YYYY-MM-DD` */
export type UtcDay = string

export interface TlsFailureCount {
  type: TlsFailureType
  receivingMxHostname: string
  receivingIp?: string
  detail?: string
  count: number
}

export interface TlsPolicyCounts {
  policy: TlsPolicyApplied
  successes: number
  failures: number
  details: TlsFailureCount[]
}

/** what a recorder adds for one policy domain and day */
export interface TlsDayCounts {
  day: UtcDay
  policyDomain: string
  policies: TlsPolicyCounts[]
}

export interface TlsReportDay extends TlsDayCounts {
  state: 'open' | 'done'
  /** failures counted in a summary whose detail row did not fit under `maxDetails` */
  droppedDetails: number
  /** report destinations (rua URIs) that took the report already */
  sentTo: string[]
  /** sending runs that took the day so far */
  attempts: number
  /** epoch ms: claimed for sending until then */
  leaseUntil?: number
}

export interface TlsReportBounds {
  /** detail rows per policy domain and day */
  maxDetails: number
  /** distinct policies per policy domain and day (a domain changing its MTA-STS policy many times a day) */
  maxPolicies: number
}

export const DEFAULT_TLS_REPORT_BOUNDS: TlsReportBounds = {maxDetails: 100, maxPolicies: 10}

/** the UTC day of an epoch ms */
export const utcDayOf = (ms: number): UtcDay => new Date(ms).toISOString().slice(0, 10)

/** the epoch ms at which a UTC day starts */
export const startOfDay = (day: UtcDay): number => Date.parse(`${day}T00:00:00Z`)

const policyKey = (p: TlsPolicyApplied): string => JSON.stringify([p.type, p.policyString ?? [], p.mxHost ?? []])
const detailKey = (d: Omit<TlsFailureCount, 'count'>): string => JSON.stringify([d.type, d.receivingMxHostname, d.receivingIp ?? '', d.detail ?? ''])

/**
 * `stored` with `counts` added, within `bounds`; undefined when the day is done already (the
 * counts are not wanted any more). Pure: the backends call it inside their transaction.
 */
export function addTlsCounts(stored: TlsReportDay | undefined, counts: TlsDayCounts, bounds: TlsReportBounds): TlsReportDay | undefined {
  if (stored?.state === 'done') return undefined
  const day: TlsReportDay = stored
    ? {...stored, policies: stored.policies.map((p) => ({...p, details: p.details.map((d) => ({...d}))}))}
    : {day: counts.day, policyDomain: counts.policyDomain, policies: [], state: 'open', droppedDetails: 0, sentTo: [], attempts: 0}
  let rows = day.policies.reduce((n, p) => n + p.details.length, 0)
  for (const add of counts.policies) {
    let into = day.policies.find((p) => policyKey(p.policy) === policyKey(add.policy))
    if (!into) {
      // past the bound a new policy's sessions are told apart no more: they count under the last one kept
      if (day.policies.length >= bounds.maxPolicies) into = day.policies[day.policies.length - 1]!
      else day.policies.push((into = {policy: add.policy, successes: 0, failures: 0, details: []}))
    }
    into.successes += add.successes
    into.failures += add.failures
    for (const d of add.details) {
      const row = into.details.find((r) => detailKey(r) === detailKey(d))
      if (row) row.count += d.count
      else if (rows < bounds.maxDetails) {
        into.details.push({...d})
        rows++
      } else day.droppedDetails += d.count
    }
  }
  return day
}

/** whether the report task may take `day` now: open, before `beforeDay`, and nobody's lease running */
export const tlsDayDue = (day: TlsReportDay, beforeDay: UtcDay, now: number): boolean => day.state === 'open' && day.day < beforeDay && (day.leaseUntil ?? 0) <= now
