/**
 * Brute-force throttling: counts failed logins in a sliding window per remote address and per
 * username. Past either limit, logins from that address (or for that user) are refused without
 * checking the password until old failures age out of the window.
 *
 * The per-user limit protects against slow distributed guessing; it is higher than the
 * per-address one so that one noisy address cannot lock a user out for long.
 */
export interface ThrottleConfig {
  windowMs: number
  maxFailuresPerAddress: number
  maxFailuresPerUser: number
}

export const DEFAULT_THROTTLE: ThrottleConfig = {windowMs: 15 * 60_000, maxFailuresPerAddress: 10, maxFailuresPerUser: 30}

/** bound on tracked keys, so a spray from many addresses cannot grow memory without limit */
const MAX_KEYS = 100_000

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>()

  constructor(
    private readonly config: ThrottleConfig = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  isBlocked(remoteAddress: string, username: string): boolean {
    return (
      this.count('addr:' + remoteAddress) >= this.config.maxFailuresPerAddress ||
      this.count('user:' + username) >= this.config.maxFailuresPerUser
    )
  }

  recordFailure(remoteAddress: string, username: string): void {
    for (const key of ['addr:' + remoteAddress, 'user:' + username]) {
      const list = this.failures.get(key) ?? []
      list.push(this.now())
      this.failures.delete(key) // re-insert: Map order is then least-recently-failed first
      this.failures.set(key, list)
    }
    while (this.failures.size > MAX_KEYS) this.failures.delete(this.failures.keys().next().value!)
  }

  /** a correct password from an address clears that address's count (not the user's) */
  recordSuccess(remoteAddress: string): void {
    this.failures.delete('addr:' + remoteAddress)
  }

  private count(key: string): number {
    const list = this.failures.get(key)
    if (!list) return 0
    const since = this.now() - this.config.windowMs
    while (list.length && list[0]! <= since) list.shift()
    if (!list.length) this.failures.delete(key)
    return list.length
  }
}
