/**
 * The greylist actor: answers `greylist.check` for the SMTP front-end's RCPT (./greylist.ts has
 * the policy, `store.greylist` the triplets), logs each decision, publishes `greylist.checked`
 * (metrics count them), and keeps the table bounded: expired entries are purged every
 * `purgeIntervalMs` (runs never overlap; the first an interval after start), and the passes the
 * cap forced are logged at most once a minute with their count.
 *
 * The config is read at each call (`config()`), so a reload applies to the next RCPT. A store
 * that fails a check fails open (the message is not greylisted, the error logged): greylisting
 * is a filter, and a broken one must not turn away all mail.
 */
import type {Actor, Bus, EventMap, GreylistRequest} from '../bus.js'
import type {Logger} from '../log.js'
import {RepeatingTask} from '../repeating-task.js'
import type {MailboxStore} from '../store/backend.js'
import {allowList, greylistNetwork, retrySeconds, type GreylistConfig} from './greylist.js'

export const PURGE_INTERVAL_MS = 10 * 60_000
/** how often, at most, the passes forced by a full table are logged */
const FULL_LOG_MS = 60_000

type Checked = EventMap['greylist.checked']

export class GreylistActor implements Actor {
  readonly name = 'greylist'
  private unregister?: () => void
  private readonly purges: RepeatingTask
  /** the allow list, made again when the config's list changes (a reload) */
  private allowed: {cidrs: readonly string[]; check: (address: string) => boolean} = {cidrs: [], check: () => false}
  /** passes forced by the cap since the last log line about them */
  private unrecorded = 0
  private lastFullLog = 0

  constructor(
    private readonly bus: Bus,
    private readonly store: MailboxStore,
    private readonly log: Logger,
    /** read at each call: a reload replaces what it returns */
    private readonly config: () => GreylistConfig,
    purgeIntervalMs = PURGE_INTERVAL_MS,
  ) {
    this.purges = new RepeatingTask(
      () => this.purgeOnce(),
      () => purgeIntervalMs,
      (err) => this.log.error({err}, 'greylist purge failed'),
    )
  }

  async start(): Promise<void> {
    this.unregister = this.bus.handle('greylist.check', (req) => this.check(req))
    this.purges.start()
  }

  async stop(): Promise<void> {
    this.unregister?.()
    await this.purges.stop()
  }

  private isAllowed(remoteAddress: string): boolean {
    const {allowNetworks} = this.config()
    if (allowNetworks !== this.allowed.cidrs) this.allowed = {cidrs: allowNetworks, check: allowList(allowNetworks)}
    return this.allowed.check(remoteAddress)
  }

  /**
   * whether the spam checks' DNS allow lists (`spam.dnswl`) list the client: their lookups began
   * when it connected and end within the spam checks' DNS budget. No answer: not listed.
   */
  private async dnsAllowListed(req: GreylistRequest): Promise<boolean> {
    if (req.session === undefined || !this.bus.has('spam.allowListed')) return false
    try {
      return (await this.bus.call('spam.allowListed', {session: req.session})).allowListed
    } catch (err) {
      this.log.warn({err, remoteAddress: req.remoteAddress}, 'greylist: the DNS allow list question failed; not allow-listed')
      return false
    }
  }

  private async check(req: GreylistRequest): Promise<{retryInSeconds: number} | null> {
    const config = this.config()
    if (!config.enabled) return null
    const skip = req.authenticated
      ? 'authenticated'
      : this.isAllowed(req.remoteAddress)
        ? 'allow-network'
        : req.allowListed || (await this.dnsAllowListed(req))
          ? 'allow-listed'
          : undefined
    if (skip) return this.decided(req, {result: 'skip', reason: skip}, null)
    const triplet = {network: greylistNetwork(req.remoteAddress), sender: req.mailFrom, recipient: req.rcpt}
    let verdict
    try {
      verdict = await this.store.greylist.check(triplet, Date.now(), config)
    } catch (err) {
      this.log.error({err, ...triplet}, 'greylist check failed: the recipient is not greylisted')
      return this.decided(req, {result: 'pass', reason: 'error'}, null)
    }
    if (verdict.action === 'wait') {
      const retryInSeconds = retrySeconds(verdict.retryInMs)
      return this.decided(req, {result: 'wait', reason: verdict.first ? 'first' : 'early'}, {retryInSeconds}, {network: triplet.network, retryInSeconds})
    }
    if (verdict.reason === 'full') {
      this.countUnrecorded(config.maxEntries)
      return this.decided(req, {result: 'pass', reason: 'full'}, null, undefined, true)
    }
    return this.decided(req, {result: 'pass', reason: verdict.reason}, null, {network: triplet.network})
  }

  /** logs and publishes one decision, and returns `answer` */
  private decided<T>(req: GreylistRequest, outcome: Pick<Checked, 'result' | 'reason'>, answer: T, extra?: object, quiet = false): T {
    this.bus.publish('greylist.checked', {...outcome, request: req})
    // a pass of a known triplet and the skips happen on every message: only at debug
    const routine = outcome.reason === 'passed' || outcome.result === 'skip'
    if (!quiet) {
      const line = {...outcome, remoteAddress: req.remoteAddress, from: req.mailFrom, to: req.rcpt, ...extra}
      if (routine) this.log.debug(line, 'greylist')
      else this.log.info(line, outcome.result === 'wait' ? 'greylisted' : 'greylist passed')
    }
    return answer
  }

  private countUnrecorded(maxEntries: number): void {
    this.unrecorded++
    const now = Date.now()
    if (now - this.lastFullLog < FULL_LOG_MS) return
    this.log.warn({unrecorded: this.unrecorded, maxEntries}, 'greylist table full: new triplets pass without being recorded')
    this.lastFullLog = now
    this.unrecorded = 0
  }


  /** removes expired entries; what went and what is left is logged when anything went */
  async purgeOnce(now = Date.now()): Promise<number> {
    const removed = await this.store.greylist.purge(now, this.config())
    if (removed) this.log.info({removed, ...(await this.store.greylist.stats())}, 'expired greylist entries purged')
    return removed
  }
}
