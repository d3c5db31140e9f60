/**
 * The recorder of outbound TLS outcomes (./outcome.ts) for the daily reports (./reporter.ts):
 * counts per (UTC day, policy domain, policy), successes and failures, the failures also per
 * (result type, receiving MX, receiving IP, detail) up to `maxDetails` rows per domain and day
 * (../store/tls-report-rules.ts).
 *
 * Delivery calls `record` once per session; it adds to counts in memory and returns: it never
 * throws and never waits for the store. Every `flushMs` the counts gathered go to the store in
 * one commit (`store.tlsReports.add`; on PostgreSQL an asynchronous commit): a crash loses at
 * most the last window's counts, which for statistics is the better trade than a commit per
 * session. `stop` flushes what is left. Memory is bounded: at most `maxPendingDays` (domain, day)
 * pairs wait for a flush; sessions past that are dropped and counted in the log.
 */
import type {Actor} from '../bus.js'
import type {Logger} from '../log.js'
import type {TlsReportStore} from '../store/backend.js'
import {addTlsCounts, utcDayOf, type TlsReportBounds, type TlsReportDay} from '../store/tls-report-rules.js'
import type {TlsOutcome, TlsOutcomeRecorder} from './outcome.js'

export interface RecorderOptions {
  flushMs: number
  bounds: TlsReportBounds
  maxPendingDays: number
}

/** a failure's detail is text from a TLS library: kept short in the report */
const MAX_DETAIL = 200

export class TlsReportRecorder implements TlsOutcomeRecorder, Actor {
  readonly name = 'tls-rpt-recorder'
  private pending = new Map<string, TlsReportDay>()
  private timer?: NodeJS.Timeout
  private flushing?: Promise<void>
  /** sessions dropped since the last flush (memory bound reached) */
  private dropped = 0

  constructor(
    private readonly store: TlsReportStore,
    private readonly log: Logger,
    private readonly options: RecorderOptions,
  ) {}

  record(outcome: TlsOutcome): void {
    try {
      const day = utcDayOf(outcome.at)
      const key = `${day} ${outcome.policyDomain}`
      const stored = this.pending.get(key)
      if (!stored && this.pending.size >= this.options.maxPendingDays) {
        this.dropped++
        return
      }
      const {failure} = outcome
      const details = failure
        ? [
            {
              type: failure.type,
              receivingMxHostname: outcome.receivingMxHostname,
              ...(outcome.receivingIp ? {receivingIp: outcome.receivingIp} : {}),
              ...(failure.detail ? {detail: failure.detail.slice(0, MAX_DETAIL)} : {}),
              count: 1,
            },
          ]
        : []
      const policies = [{policy: outcome.policy, successes: failure ? 0 : 1, failures: failure ? 1 : 0, details}]
      const next = addTlsCounts(stored, {day, policyDomain: outcome.policyDomain, policies}, this.options.bounds)
      if (next) this.pending.set(key, next)
    } catch (err) {
      // a report is worth less than a delivery: never let counting break one
      this.log.warn({err}, 'a TLS outcome could not be counted')
    }
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.flush(), this.options.flushMs).unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
  }

  /** Writes what was gathered (one at a time: a flush waits for the one under way). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (!this.pending.size && !this.dropped) return
    const batch = [...this.pending.values()].map(({day, policyDomain, policies}) => ({day, policyDomain, policies}))
    const dropped = this.dropped
    this.pending = new Map()
    this.dropped = 0
    if (dropped) this.log.warn({dropped, maxPendingDays: this.options.maxPendingDays}, 'TLS outcomes not counted: too many domains at once')
    this.flushing = this.store
      .add(batch, this.options.bounds)
      .catch((err: unknown) => this.log.warn({err, domains: batch.length}, 'TLS report counts could not be stored: these sessions are missing from the reports'))
      .finally(() => (this.flushing = undefined))
    await this.flushing
  }
}
