/**
 * Brute-force throttling that slows the attacker, not the victim (after Dovecot's auth penalty
 * and the "smart lockout" of Azure AD). Three sliding-window counts of failed logins:
 *
 * - per source (`networkOf`: the IPv4 address, or the IPv6 /64): each failed or refused login
 *   from there is answered after a delay that doubles with every failure in the window
 *   (failureDelayMs, 2×, 4×, … up to maxFailureDelayMs); from maxFailuresPerAddress on, the
 *   source is refused outright;
 * - per (user, source): from maxFailuresPerUserAddress on, that source may not try that user;
 * - per user, counting only failures from sources *unfamiliar* for that user (no successful login
 *   for the user from there lately, see src/store/familiar-addresses.ts): from maxFailuresPerUser
 *   on, unfamiliar sources are refused for that user, while familiar ones are never held back by
 *   this count. A botnet guessing alice's password from a thousand addresses locks itself out,
 *   and alice's phone, which logged in from home yesterday, still gets in at once.
 *
 * A refusal is decided before the password is checked, so it says nothing about the password.
 * An attempt is counted as a failure when it starts (`admit`), so parallel connections cannot all
 * slip in under a limit, and uncounted when the password turns out right (`succeeded`). An attempt
 * over a limit only because of attempts still being checked is not refused: it waits for them
 * (`waitsForPending`, `settledOnce`), so a burst of right passwords from one place (a mail client
 * opening its connections, an office behind one NAT after a restart) all get in. A success
 * also forgives that user's earlier failures from that source (their own typos), but never the
 * failures for other users: an attacker cannot clear their address by logging in to an account
 * of their own.
 *
 * Each map is bounded (attackers choose the keys): past 100 000 keys the least recently failed
 * goes first; each key keeps at most as many failures as its limit needs.
 *
 * Where the failures are counted: in this process's memory (the default: one process serves an
 * LMDB store), or, with `shared`, in the store, where every node sees them (PostgreSQL,
 * ../store/pg/auth-failures.ts). Shared, the caller reads the store's counts of decided failures
 * before each admission and passes them in (`settled`), records a failure and forgives after a
 * success in the store; this throttle then keeps only what belongs to one node: the attempts in
 * flight (counted on top of `settled`, so parallel attempts still cannot slip in), the waiting
 * for them, and the delays.
 */
import type {FailureCounts} from '../store/backend.js'
import {networkOf} from './network.js'

export interface ThrottleConfig {
  windowMs: number
  maxFailuresPerAddress: number
  maxFailuresPerUserAddress: number
  /** failures for one user from unfamiliar sources */
  maxFailuresPerUser: number
  /** delay before answering the first failure from a source; doubles with each further one */
  failureDelayMs: number
  maxFailureDelayMs: number
}

export const DEFAULT_THROTTLE: ThrottleConfig = {
  windowMs: 15 * 60_000,
  maxFailuresPerAddress: 10,
  maxFailuresPerUserAddress: 5,
  maxFailuresPerUser: 30,
  failureDelayMs: 500,
  maxFailureDelayMs: 15_000,
}

/** which count refused an attempt */
export type ThrottleLimit = 'address' | 'user-address' | 'user'

/** a login attempt in flight: counted as a failure until it proves otherwise */
export interface Attempt {
  readonly source: string
  readonly user: string
  readonly at: number
  readonly familiar: boolean
  /** shared counting: the source's decided failures (all nodes) when this attempt was admitted */
  readonly settledAddress?: number
}

/** refused without a password check: the limit that applies, the source's failures, and when to answer */
export interface Refusal {
  limit: ThrottleLimit
  failures: number
  delayMs: number
}

export type Admission = {admitted: true; attempt: Attempt} | ({admitted: false} & Refusal)

export interface ThrottleStats {
  /** failures in the window, over all sources */
  failures: number
  /** sources with failures in the window */
  addresses: number
  /** sources at maxFailuresPerAddress: refused */
  blockedAddresses: number
  /** sources with failures below the limit: answered after a delay */
  slowedAddresses: number
  /** (user, source) pairs at maxFailuresPerUserAddress */
  blockedPairs: number
  /** users refusing unfamiliar sources */
  lockedUsers: number
  /** the sources with the most failures (at most 10) */
  top: {address: string; failures: number; blocked: boolean; delayMs: number}[]
}

/** bound on keys per map */
export const MAX_KEYS = 100_000
const TOP = 10

export class LoginThrottle {
  private readonly config: ThrottleConfig
  private readonly bySource: SlidingLog
  private readonly byPair: SlidingLog
  private readonly byUser: SlidingLog
  /** admitted attempts whose password check is not over (as many as logins in progress) */
  private readonly pending = new Set<Attempt>()
  /**
   * shared counting: failures this node has settled, per source, counted up. A failure leaves
   * the in-flight logs once the store holds it; a read of the store's counts that began before
   * that commit missed it in both places, so the caller reads again when this moved meanwhile.
   */
  private readonly settledFailures = new Map<string, number>()
  private settleWaiters: (() => void)[] = []

  constructor(
    config: Partial<ThrottleConfig> = {},
    private readonly now: () => number = Date.now,
    /** failures are counted in the store (the caller passes its counts in), not here: see above */
    readonly shared = false,
  ) {
    this.config = {...DEFAULT_THROTTLE, ...config}
    const log = (limit: number) => new SlidingLog(this.config.windowMs, Math.max(1, limit), now)
    this.bySource = log(this.config.maxFailuresPerAddress)
    this.byPair = log(this.config.maxFailuresPerUserAddress)
    this.byUser = log(this.config.maxFailuresPerUser)
  }

  /**
   * Which limit refuses an attempt now, if any, and how long to wait before saying so. Changes
   * nothing. `settled`: the store's counts, when they are shared.
   */
  refusal(remoteAddress: string, user: string, familiar: boolean, settled?: FailureCounts): Refusal | undefined {
    return this.refusalCounting(remoteAddress, user, familiar, () => true, settled)
  }

  /**
   * True when `refusal` refuses only because of attempts still being checked: once they are
   * over (`settledOnce`), the attempt may be admitted, or is refused for real failures.
   */
  waitsForPending(remoteAddress: string, user: string, familiar: boolean, settled?: FailureCounts): boolean {
    if (this.pending.size === 0 || !this.refusal(remoteAddress, user, familiar, settled)) return false
    return !this.refusalCounting(remoteAddress, user, familiar, (a) => !this.pending.has(a), settled)
  }

  /** shared counting: how many failures from `remoteAddress`'s network this node has settled (see settledFailures) */
  failuresSettled(remoteAddress: string): number {
    return this.settledFailures.get(networkOf(remoteAddress)) ?? 0
  }

  /** resolves when the next attempt in flight is decided (failed or succeeded) */
  settledOnce(): Promise<void> {
    return new Promise((resolve) => this.settleWaiters.push(resolve))
  }

  private refusalCounting(remoteAddress: string, user: string, familiar: boolean, counts: (a: Attempt) => boolean, settled?: FailureCounts): Refusal | undefined {
    const source = networkOf(remoteAddress)
    // shared: the maps hold only this node's attempts in flight, on top of the store's decided failures
    const failures = (settled?.address ?? 0) + this.bySource.count(source, counts)
    const refuse = (limit: ThrottleLimit): Refusal => ({limit, failures, delayMs: this.delayFor(Math.max(1, failures))})
    const {maxFailuresPerAddress, maxFailuresPerUserAddress, maxFailuresPerUser} = this.config
    if (failures >= maxFailuresPerAddress) return refuse('address')
    if ((settled?.userAddress ?? 0) + this.byPair.count(pairKey(source, user), counts) >= maxFailuresPerUserAddress) return refuse('user-address')
    if (!familiar && (settled?.user ?? 0) + this.byUser.count(user, counts) >= maxFailuresPerUser) return refuse('user')
    return undefined
  }

  /** an attempt is decided: it no longer holds back the attempts waiting for it */
  private settle(attempt: Attempt): void {
    if (!this.pending.delete(attempt)) return
    // shared: decided, it is the store's to count (the caller records or forgives it there)
    if (this.shared) {
      this.bySource.remove(attempt.source, (a) => a === attempt)
      this.byPair.remove(pairKey(attempt.source, attempt.user), (a) => a === attempt)
      this.byUser.remove(attempt.user, (a) => a === attempt)
    }
    const waiters = this.settleWaiters
    this.settleWaiters = []
    for (const wake of waiters) wake()
  }

  /** Admits an attempt, counting it as a failure until `succeeded`, or refuses it. */
  admit(remoteAddress: string, user: string, familiar: boolean, settled?: FailureCounts): Admission {
    const refusal = this.refusal(remoteAddress, user, familiar, settled)
    if (refusal) return {admitted: false, ...refusal}
    const source = networkOf(remoteAddress)
    const attempt: Attempt = {source, user, at: this.now(), familiar, ...(settled ? {settledAddress: settled.address} : {})}
    this.bySource.add(source, attempt)
    this.byPair.add(pairKey(source, user), attempt)
    if (!familiar) this.byUser.add(user, attempt)
    this.pending.add(attempt)
    return {admitted: true, attempt}
  }

  /** The attempt failed: it stays counted. Returns its source's failures and the delay before answering. */
  failed(attempt: Attempt): {failures: number; delayMs: number} {
    if (this.shared && this.pending.has(attempt)) {
      const n = (this.settledFailures.get(attempt.source) ?? 0) + 1
      this.settledFailures.delete(attempt.source) // re-inserted last: the least recently failed source goes first
      this.settledFailures.set(attempt.source, n)
      if (this.settledFailures.size > MAX_KEYS) this.settledFailures.delete(this.settledFailures.keys().next().value!)
    }
    this.settle(attempt)
    // shared: the store's count at admission and this one (the store records it)
    const failures = this.shared ? (attempt.settledAddress ?? 0) + 1 : Math.max(1, this.bySource.count(attempt.source))
    return {failures, delayMs: this.delayFor(failures)}
  }

  /** The password was right: the attempt, and this user's earlier failures from this source, no longer count. */
  succeeded(attempt: Attempt): void {
    this.settle(attempt)
    if (this.shared) return // the caller forgives in the store
    this.bySource.remove(attempt.source, (a) => a.user === attempt.user)
    this.byPair.delete(pairKey(attempt.source, attempt.user))
    this.byUser.remove(attempt.user, (a) => a === attempt)
  }

  /** failureDelayMs × 2^(n−1), at most maxFailureDelayMs */
  delayFor(failures: number): number {
    if (failures <= 0) return 0
    return Math.min(this.config.maxFailureDelayMs, this.config.failureDelayMs * 2 ** Math.min(failures - 1, 40))
  }

  stats(): ThrottleStats {
    const {maxFailuresPerAddress, maxFailuresPerUserAddress, maxFailuresPerUser} = this.config
    const stats: ThrottleStats = {failures: 0, addresses: 0, blockedAddresses: 0, slowedAddresses: 0, blockedPairs: 0, lockedUsers: 0, top: []}
    const sources: [string, number][] = []
    for (const [address, failures] of this.bySource.counts()) {
      sources.push([address, failures])
      stats.failures += failures
      stats.addresses++
      if (failures >= maxFailuresPerAddress) stats.blockedAddresses++
      else stats.slowedAddresses++
    }
    for (const [, failures] of this.byPair.counts()) if (failures >= maxFailuresPerUserAddress) stats.blockedPairs++
    for (const [, failures] of this.byUser.counts()) if (failures >= maxFailuresPerUser) stats.lockedUsers++
    stats.top = sources
      .sort((a, b) => b[1] - a[1])
      .slice(0, TOP)
      .map(([address, failures]) => ({address, failures, blocked: failures >= maxFailuresPerAddress, delayMs: this.delayFor(failures)}))
    return stats
  }
}

/** NUL cannot occur in a network key, so the pair key is unambiguous */
const pairKey = (source: string, user: string) => `${source}\0${user}`

/**
 * Attempts per key within the last `windowMs`, oldest first. At most `perKey` are kept per key
 * (more would not change a decision at that limit) and at most MAX_KEYS keys, in order of their
 * last failure, so the least recently failed key is dropped first.
 */
class SlidingLog {
  private readonly lists = new Map<string, Attempt[]>()

  constructor(
    private readonly windowMs: number,
    private readonly perKey: number,
    private readonly now: () => number,
  ) {}

  add(key: string, attempt: Attempt): void {
    const list = this.live(key) ?? []
    list.push(attempt)
    if (list.length > this.perKey) list.shift()
    this.lists.delete(key) // re-insert: Map order is then least recently failed first
    this.lists.set(key, list)
    if (this.lists.size > MAX_KEYS) this.lists.delete(this.lists.keys().next().value!)
  }

  /** attempts of `key` in the window (those `counts` accepts, if given) */
  count(key: string, counts?: (a: Attempt) => boolean): number {
    const list = this.live(key)
    if (!list) return 0
    return counts ? list.filter(counts).length : list.length
  }

  remove(key: string, drop: (a: Attempt) => boolean): void {
    const list = this.lists.get(key)
    if (!list) return
    const kept = list.filter((a) => !drop(a))
    if (kept.length) this.lists.set(key, kept) // same key: keeps its place in the order
    else this.lists.delete(key)
  }

  delete(key: string): void {
    this.lists.delete(key)
  }

  /** every key with failures in the window, and how many (drops the expired on the way) */
  *counts(): Generator<[string, number]> {
    for (const key of [...this.lists.keys()]) {
      const n = this.count(key)
      if (n) yield [key, n]
    }
  }

  private live(key: string): Attempt[] | undefined {
    const list = this.lists.get(key)
    if (!list) return undefined
    const since = this.now() - this.windowMs
    while (list.length && list[0]!.at <= since) list.shift()
    if (list.length) return list
    this.lists.delete(key)
    return undefined
  }
}
