/**
 * Retry schedule for deferred deliveries: the wait after attempt n is schedule[n-1], and the last
 * step repeats. Recipients still undelivered when an entry is older than the maximum lifetime
 * fail (and bounce).
 */
export interface RetryPolicy {
  /** waits in milliseconds after the 1st, 2nd, … failed attempt */
  scheduleMs: number[]
  maxLifetimeMs: number
}

const MIN = 60_000
export const DEFAULT_RETRY: RetryPolicy = {
  scheduleMs: [1 * MIN, 5 * MIN, 15 * MIN, 30 * MIN, 60 * MIN, 120 * MIN, 240 * MIN],
  maxLifetimeMs: 5 * 24 * 60 * MIN,
}

export function nextAttemptAt(policy: RetryPolicy, attempts: number, now = Date.now()): number {
  const steps = policy.scheduleMs.length ? policy.scheduleMs : [60 * MIN]
  return now + steps[Math.min(Math.max(attempts, 1), steps.length) - 1]!
}
