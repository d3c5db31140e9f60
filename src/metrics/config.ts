/**
 * The monitoring listener's settings (config `metrics`, flag `--metrics-port`) and the rule that
 * guards it: what it shows (traffic, users' login failures, the queue) is for the operator, so it
 * is off unless a port is set, binds loopback unless told otherwise, and off loopback refuses to
 * start without a bearer token. No prom-client here: `config show` and `config check` read this.
 */
import {MailboxError} from '../errors.js'
import {isLoopback} from '../matcher/token.js'

export interface MetricsConfig {
  /** 0: off */
  port: number
  host: string
  /** scrapers send `Authorization: Bearer <token>`; required off loopback, and required whenever set */
  token?: string
  maxConnections: number
  /** a request's headers must arrive within this (slowloris) */
  headersTimeoutMs: number
  /** a whole request must arrive within this */
  requestTimeoutMs: number
}

export const DEFAULT_METRICS: MetricsConfig = {
  port: 0,
  host: '127.0.0.1',
  maxConnections: 16,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
}

export const MIN_TOKEN_LENGTH = 16

/** refuses a listener that anyone on the network could read (see above) */
export function checkMetricsAccess(config: MetricsConfig): void {
  if (!config.port || config.token !== undefined || isLoopback(config.host)) return
  throw new MailboxError(
    'invalid',
    `the metrics listener on ${config.host} is reachable beyond loopback: set metrics.token (or $MAILBOX_METRICS_TOKEN, at least ${MIN_TOKEN_LENGTH} characters) so scrapers must authenticate, or bind it to 127.0.0.1`,
  )
}
