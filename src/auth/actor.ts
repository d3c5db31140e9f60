/**
 * The auth actor (fmail's authentication server): `auth.verify` says whether an address is a
 * user here; `auth.login` checks a password against its argon2id hash, refuses disabled users,
 * throttles brute force (throttle.ts: the attacker's source is slowed and blocked, the user's
 * familiar addresses never are), and publishes and logs every outcome; `auth.sender` says
 * whether a logged-in user may use an address as envelope sender.
 *
 * Timing does not reveal which usernames exist: unknown users cost one argon2 verify too.
 * A disabled account is reported only to someone who knows its password. Delays are timers
 * (the event loop and other sessions go on); a delayed attempt holds only its own connection.
 */
import {setMaxListeners} from 'node:events'
import {setTimeout as sleep} from 'node:timers/promises'
import {normalizeAddress} from '../address.js'
import type {Actor, Bus, LoginRequest} from '../bus.js'
import {MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {FailureCounts, FailureLimits, LoginFailureStore} from '../store/backend.js'
import type {UserRecord} from '../store/records.js'
import type {MailboxStore} from '../store/backend.js'
import {networkOf} from './network.js'
import {burnVerify, verifyPassword} from './password.js'
import {DEFAULT_THROTTLE, LoginThrottle, type Attempt, type ThrottleConfig, type ThrottleLimit, type ThrottleStats} from './throttle.js'
import {VerifiedCache} from './verified-cache.js'


/** reads of the shared failure counts for one admission at most (see `settled` in login) */
const MAX_COUNT_READS = 4
export interface AuthConfig extends ThrottleConfig {
  /** how long after a user's last successful login from a network it stays familiar; 0: nothing is familiar */
  familiarAddressMs: number
  /** familiar networks kept per user (the most recent) */
  maxFamiliarAddresses: number
  /** how long a successful password check is remembered (see verified-cache.ts); 0: always verify */
  verifiedCacheMs: number
}

export const DEFAULT_AUTH: AuthConfig = {
  ...DEFAULT_THROTTLE,
  familiarAddressMs: 30 * 24 * 3600_000,
  maxFamiliarAddresses: 50,
  verifiedCacheMs: 5 * 60_000,
}

/** login outcomes since the server started */
export interface AuthTotals {
  succeeded: number
  /** wrong password or unknown user */
  failed: number
  /** refused by the throttle without a password check */
  throttled: number
  disabled: number
}

/** the `auth` block of the live status */
export interface AuthStats extends ThrottleStats {
  windowMs: number
  totals: AuthTotals
}

/** how often a node prunes the shared failure counts (expired keys, the bound) */
export const PRUNE_FAILURES_EVERY_MS = 60_000
/** sources `status` lists */
const TOP_SOURCES = 10

type FailReason = 'bad-credentials' | 'throttled' | 'disabled'
const TOTAL_OF: Record<FailReason, keyof AuthTotals> = {'bad-credentials': 'failed', throttled: 'throttled', disabled: 'disabled'}

export class AuthActor implements Actor {
  readonly name = 'auth'
  private readonly config: AuthConfig
  private readonly throttle: LoginThrottle
  private readonly verified: VerifiedCache
  /** the store's shared failure counts (several nodes); absent: the throttle counts in memory */
  private readonly failures: LoginFailureStore | undefined
  private pruneTimer: NodeJS.Timeout | undefined
  private readonly totals: AuthTotals = {succeeded: 0, failed: 0, throttled: 0, disabled: 0}
  /** aborted on stop, so no pending delay holds up a shutdown */
  private stopping = new AbortController()
  private unregister: (() => void)[] = []

  constructor(
    private readonly bus: Bus,
    private readonly store: Pick<MailboxStore, 'directory' | 'auth' | 'changes'>,
    private readonly log: Logger,
    config: Partial<AuthConfig> = DEFAULT_AUTH,
  ) {
    this.config = {...DEFAULT_AUTH, ...config}
    this.failures = store.auth.failures
    this.throttle = new LoginThrottle(this.config, Date.now, this.failures !== undefined)
    this.verified = new VerifiedCache(this.config.verifiedCacheMs)
  }

  async start(): Promise<void> {
    this.stopping = new AbortController()
    // every delayed answer listens on this one signal; dozens at once under attack is normal,
    // not the listener leak Node warns about (on stderr) past 10
    setMaxListeners(0, this.stopping.signal)
    this.unregister = [
      this.bus.handle('auth.verify', async ({address}) => {
        const user = await this.lookup(address)
        return {exists: user !== undefined, disabled: user?.disabled ?? false}
      }),
      this.bus.handle('auth.login', (req) => this.login(req)),
      this.bus.handle('auth.sender', async ({user, sender}) => ({allowed: await this.mayUse(user, sender)})),
    ]
    // a user disabled, removed or given a new password, perhaps on another node: verify afresh
    // (a new hash alone would miss the cache anyway: it is part of each entry)
    this.unregister.push(
      this.store.changes.on((change) => {
        if (change.kind === 'directory' || change.kind === 'resync') this.verified.clear()
      }),
    )
    if (this.failures) {
      const failures = this.failures
      // every node prunes; concurrent runs are harmless
      this.pruneTimer = setInterval(() => {
        failures.prune(this.config.windowMs).catch((err: unknown) => this.log.warn({err}, 'could not prune the shared login failures'))
      }, PRUNE_FAILURES_EVERY_MS)
      this.pruneTimer.unref()
    }
  }

  async stop(): Promise<void> {
    for (const off of this.unregister) off()
    this.unregister = []
    clearInterval(this.pruneTimer)
    this.stopping.abort()
  }

  /** credentials verified lately (see verified-cache.ts) */
  get cachedCredentials(): number {
    return this.verified.size
  }

  /** this process's throttle (with shared counts: only its attempts in flight; see `status`) */
  stats(): AuthStats {
    return {windowMs: this.config.windowMs, ...this.throttle.stats(), totals: {...this.totals}}
  }

  /** what `status` shows: this process's throttle, or with shared counts every node's failures, from the store */
  async status(): Promise<AuthStats> {
    if (!this.failures) return this.stats()
    const s = await this.failures.stats(this.limits(), TOP_SOURCES)
    const {maxFailuresPerAddress} = this.config
    return {
      failures: s.failures,
      addresses: s.addresses,
      blockedAddresses: s.blockedAddresses,
      slowedAddresses: s.addresses - s.blockedAddresses,
      blockedPairs: s.blockedPairs,
      lockedUsers: s.lockedUsers,
      top: s.top.map(({source, failures}) => ({address: source, failures, blocked: failures >= maxFailuresPerAddress, delayMs: this.throttle.delayFor(failures)})),
      windowMs: this.config.windowMs,
      totals: {...this.totals},
    }
  }

  private limits(): FailureLimits {
    const {windowMs, maxFailuresPerAddress, maxFailuresPerUserAddress, maxFailuresPerUser} = this.config
    return {windowMs, maxFailuresPerAddress, maxFailuresPerUserAddress, maxFailuresPerUser}
  }

  private async lookup(input: string): Promise<UserRecord | undefined> {
    try {
      return await this.store.directory.user(normalizeAddress(input))
    } catch {
      return undefined
    }
  }

  /** A user may send as their own address, or as an alias that delivers to them. */
  private async mayUse(user: string, sender: string): Promise<boolean> {
    let address: string
    try {
      address = normalizeAddress(sender)
    } catch {
      return false
    }
    if (address === user) return true
    try {
      return (await this.store.directory.resolve(address))?.local.includes(user) ?? false
    } catch {
      return false // an alias loop grants nothing
    }
  }

  private async login(req: LoginRequest): Promise<{address: string}> {
    const {remoteAddress, protocol, mechanism, tls} = req
    const username = req.username.trim().toLowerCase().slice(0, 320)
    // one line per outcome, with what an admin greps for; never the password
    const fail = async (reason: FailReason, error: MailboxError, details: {limit?: ThrottleLimit; failures?: number; delayMs: number}) => {
      this.totals[TOTAL_OF[reason]]++
      this.bus.publish('auth.failed', {username, remoteAddress, protocol, reason})
      this.log.info({username, remoteAddress, protocol, mechanism, tls, reason, ...details}, 'login failed')
      await this.pause(details.delayMs)
      throw error
    }
    const user = await this.lookup(username)
    const network = networkOf(remoteAddress)
    const {familiarAddressMs} = this.config
    const familiar = user !== undefined && familiarAddressMs > 0 && (await this.store.auth.lastLoginFrom(user.address, network, Date.now(), familiarAddressMs)) !== undefined
    const key = user?.address ?? username
    // shared counts: what every node decided so far, read just before each admission (one query);
    // read again when a failure from here settled meanwhile (it may be in neither the read nor
    // the in-flight attempts: see LoginThrottle.settledFailures), a few times at most
    const settled = async (): Promise<FailureCounts | undefined> => {
      for (let read = 1; ; read++) {
        const before = this.throttle.failuresSettled(remoteAddress)
        const counts = await this.failures?.counts(network, key, this.config.windowMs)
        if (read === MAX_COUNT_READS || this.throttle.failuresSettled(remoteAddress) === before) return counts
      }
    }
    let counts = await settled()
    let admission = this.throttle.admit(remoteAddress, key, familiar, counts)
    // over a limit only because attempts from here are still being checked: wait for them (each
    // round one of them is decided, so this ends), then be admitted or refused for real failures
    while (!admission.admitted && this.throttle.waitsForPending(remoteAddress, key, familiar, counts) && !this.stopping.signal.aborted) {
      await this.throttle.settledOnce()
      counts = await settled()
      admission = this.throttle.admit(remoteAddress, key, familiar, counts)
    }
    if (!admission.admitted) {
      const {limit, failures, delayMs} = admission
      return fail('throttled', new MailboxError('throttled', 'too many failed logins, try again later'), {limit, failures, delayMs})
    }
    const {attempt} = admission
    let ok: boolean
    try {
      ok = user ? this.verified.has(user.passwordHash, req.password) || (await verifyPassword(user.passwordHash, req.password)) : (await burnVerify(req.password), false)
    } catch (err) {
      await this.decide(attempt, false)
      throw err
    }
    if (!user || !ok) return fail('bad-credentials', new MailboxError('auth-failed', 'invalid credentials'), await this.decide(attempt, false))
    await this.decide(attempt, true)
    if (user.disabled) return fail('disabled', new MailboxError('disabled', 'account disabled'), {delayMs: 0})
    this.verified.add(user.passwordHash, req.password)
    if (familiarAddressMs > 0) await this.remember(user.address, network)
    this.totals.succeeded++
    this.bus.publish('auth.succeeded', {address: user.address, remoteAddress, protocol})
    this.log.info({username: user.address, remoteAddress, protocol, mechanism, tls}, 'login succeeded')
    return {address: user.address}
  }

  /**
   * The attempt is decided. Shared counts: the failure is recorded (or the user's failures from
   * the source forgiven) in the store first, so an attempt that waited for this one and reads the
   * counts again finds it there. A store that cannot be reached costs the count, never the login's
   * answer; the attempt is settled whatever happens, so no one waits for it forever.
   */
  private async decide(attempt: Attempt, succeeded: boolean): Promise<{failures: number; delayMs: number}> {
    try {
      if (succeeded) await this.failures?.forgive(attempt.source, attempt.user)
      else await this.failures?.record(attempt.source, attempt.user, attempt.familiar, this.limits())
    } catch (err) {
      this.log.warn({err, source: attempt.source}, succeeded ? 'could not forgive login failures in the store' : 'could not count a login failure in the store')
    }
    if (succeeded) {
      this.throttle.succeeded(attempt)
      return {failures: 0, delayMs: 0}
    }
    return this.throttle.failed(attempt)
  }

  /** a timer, not a busy wait: other sessions go on meanwhile */
  private async pause(ms: number): Promise<void> {
    if (ms > 0) await sleep(ms, undefined, {signal: this.stopping.signal}).catch(() => {})
  }

  /** a failure to remember costs the user only their familiarity, never the login */
  private async remember(user: string, network: string): Promise<void> {
    const policy = {maxAgeMs: this.config.familiarAddressMs, maxPerUser: this.config.maxFamiliarAddresses}
    await this.store.auth.rememberLogin(user, network, Date.now(), policy).catch((err: unknown) => this.log.warn({err, user, network}, 'could not remember a familiar address'))
  }
}
