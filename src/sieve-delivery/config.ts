/**
 * Config `sieve` for delivery: whether users' scripts run, and the limits of one run. The
 * defaults keep a hostile script's run near 20 ms of CPU on the event loop (measured on the
 * worst cases in docs/sieve.md): a real filter takes a few hundred steps.
 */
import type {SieveLimits} from '../sieve/index.js'

export interface SieveDeliveryConfig {
  /** false: no script runs at delivery (mail goes where it went before Sieve) */
  enabled: boolean
  /** commands, tests and comparisons per run */
  maxSteps: number
  /** character comparisons of :matches/:contains/:regex per run (their time bound) */
  maxMatchWork: number
  /** distinct redirect addresses per message */
  maxRedirects: number
}

export const DEFAULT_SIEVE_DELIVERY: SieveDeliveryConfig = {
  enabled: true,
  maxSteps: 10_000,
  maxMatchWork: 1_000_000,
  maxRedirects: 4,
}

export const runLimits = (config: SieveDeliveryConfig): Partial<SieveLimits> => ({maxSteps: config.maxSteps, maxMatchWork: config.maxMatchWork, maxRedirects: config.maxRedirects})
