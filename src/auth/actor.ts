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
import type {UserRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {networkOf} from './network.js'
import {burnVerify, verifyPassword} from './password.js'
import {DEFAULT_THROTTLE, LoginThrottle, type ThrottleConfig, type ThrottleLimit, type ThrottleStats} from './throttle.js'
import {VerifiedCache} from './verified-cache.js'

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

type FailReason = 'bad-credentials' | 'throttled' | 'disabled'
const TOTAL_OF: Record<FailReason, keyof AuthTotals> = {'bad-credentials': 'failed', throttled: 'throttled', disabled: 'disabled'}

export class AuthActor implements Actor {
  readonly name = 'auth'
  private readonly config: AuthConfig
  private readonly throttle: LoginThrottle
  private readonly verified: VerifiedCache
  private readonly totals: AuthTotals = {succeeded: 0, failed: 0, throttled: 0, disabled: 0}
  /** aborted on stop, so no pending delay holds up a shutdown */
  private stopping = new AbortController()
  private unregister: (() => void)[] = []

  constructor(
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly log: Logger,
    config: Partial<AuthConfig> = DEFAULT_AUTH,
  ) {
    this.config = {...DEFAULT_AUTH, ...config}
    this.throttle = new LoginThrottle(this.config)
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
  }

  async stop(): Promise<void> {
    for (const off of this.unregister) off()
    this.unregister = []
    this.stopping.abort()
  }

  stats(): AuthStats {
    return {windowMs: this.config.windowMs, ...this.throttle.stats(), totals: {...this.totals}}
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
    let admission = this.throttle.admit(remoteAddress, key, familiar)
    // over a limit only because attempts from here are still being checked: wait for them (each
    // round one of them is decided, so this ends), then be admitted or refused for real failures
    while (!admission.admitted && this.throttle.waitsForPending(remoteAddress, key, familiar) && !this.stopping.signal.aborted) {
      await this.throttle.settledOnce()
      admission = this.throttle.admit(remoteAddress, key, familiar)
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
      this.throttle.failed(attempt) // decided: whoever waits for it goes on
      throw err
    }
    if (!user || !ok) return fail('bad-credentials', new MailboxError('auth-failed', 'invalid credentials'), this.throttle.failed(attempt))
    this.throttle.succeeded(attempt)
    if (user.disabled) return fail('disabled', new MailboxError('disabled', 'account disabled'), {delayMs: 0})
    this.verified.add(user.passwordHash, req.password)
    if (familiarAddressMs > 0) await this.remember(user.address, network)
    this.totals.succeeded++
    this.bus.publish('auth.succeeded', {address: user.address, remoteAddress, protocol})
    this.log.info({username: user.address, remoteAddress, protocol, mechanism, tls}, 'login succeeded')
    return {address: user.address}
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
