/**
 * The auth actor (fmail's authentication server): `auth.verify` says whether an address is a
 * user here; `auth.login` checks a password against its argon2id hash, refuses disabled users,
 * throttles brute force, and publishes every outcome as an event; `auth.sender` says whether a
 * logged-in user may use an address as envelope sender.
 *
 * Timing does not reveal which usernames exist: unknown users cost one argon2 verify too.
 * A disabled account is reported only to someone who knows its password.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {normalizeAddress} from '../address.js'
import type {Actor, Bus} from '../bus.js'
import {resolveRecipient} from '../directory/aliases.js'
import {MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {Store} from '../store/store.js'
import {burnVerify, verifyPassword} from './password.js'
import {DEFAULT_THROTTLE, LoginThrottle, type ThrottleConfig} from './throttle.js'
import {VerifiedCache} from './verified-cache.js'

export interface AuthConfig extends ThrottleConfig {
  /** extra delay before answering a failed login, to slow down guessing on one connection */
  failureDelayMs: number
  /** how long a successful password check is remembered (see verified-cache.ts); 0: always verify */
  verifiedCacheMs: number
}

export const DEFAULT_AUTH: AuthConfig = {...DEFAULT_THROTTLE, failureDelayMs: 500, verifiedCacheMs: 5 * 60_000}

export class AuthActor implements Actor {
  readonly name = 'auth'
  private readonly throttle: LoginThrottle
  private readonly verified: VerifiedCache
  private unregister: (() => void)[] = []

  constructor(
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly config: AuthConfig = DEFAULT_AUTH,
  ) {
    this.throttle = new LoginThrottle(config)
    this.verified = new VerifiedCache(config.verifiedCacheMs ?? DEFAULT_AUTH.verifiedCacheMs)
  }

  async start(): Promise<void> {
    this.unregister = [
      this.bus.handle('auth.verify', ({address}) => {
        const user = this.lookup(address)
        return {exists: user !== undefined, disabled: user?.disabled ?? false}
      }),
      this.bus.handle('auth.login', (req) => this.login(req)),
      this.bus.handle('auth.sender', ({user, sender}) => ({allowed: this.mayUse(user, sender)})),
    ]
  }

  async stop(): Promise<void> {
    for (const off of this.unregister) off()
    this.unregister = []
  }

  private lookup(input: string) {
    try {
      return this.store.users.get(normalizeAddress(input))
    } catch {
      return undefined
    }
  }

  /** A user may send as their own address, or as an alias that delivers to them. */
  private mayUse(user: string, sender: string): boolean {
    let address: string
    try {
      address = normalizeAddress(sender)
    } catch {
      return false
    }
    if (address === user) return true
    try {
      return resolveRecipient(this.store, address)?.local.includes(user) ?? false
    } catch {
      return false // an alias loop grants nothing
    }
  }

  private async login(req: {username: string; password: string; remoteAddress: string; protocol: string}): Promise<{address: string}> {
    const {remoteAddress, protocol} = req
    const username = req.username.trim().toLowerCase().slice(0, 320)
    const fail = async (reason: 'bad-credentials' | 'throttled' | 'disabled', error: MailboxError) => {
      this.bus.publish('auth.failed', {username, remoteAddress, protocol, reason})
      this.log.info({username, remoteAddress, protocol, reason}, 'login failed')
      if (reason === 'bad-credentials') await sleep(this.config.failureDelayMs)
      throw error
    }
    if (this.throttle.isBlocked(remoteAddress, username)) {
      return fail('throttled', new MailboxError('throttled', 'too many failed logins, try again later'))
    }
    const user = this.lookup(username)
    const ok = user ? this.verified.has(user.passwordHash, req.password) || (await verifyPassword(user.passwordHash, req.password)) : (await burnVerify(req.password), false)
    if (!user || !ok) {
      this.throttle.recordFailure(remoteAddress, username)
      return fail('bad-credentials', new MailboxError('auth-failed', 'invalid credentials'))
    }
    if (user.disabled) return fail('disabled', new MailboxError('disabled', 'account disabled'))
    this.verified.add(user.passwordHash, req.password)
    this.throttle.recordSuccess(remoteAddress)
    this.bus.publish('auth.succeeded', {address: user.address, remoteAddress, protocol})
    return {address: user.address}
  }
}
