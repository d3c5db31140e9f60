/**
 * The queue actor: the foreman of seed 001. It pulls due entries (priority, then due time) into a
 * pool of senders, at most `perDomain` at once per destination, and records each outcome:
 *
 * - before dialing, an entry is claimed (state `sending`, attempts + 1) in a commit of its own;
 *   after a crash, `sending` entries are due again (a duplicate is possible, a loss is not);
 * - each attempt tries the route / smarthost / MX hosts in order until one answers, and keeps
 *   the SMTP transcript in the delivery log;
 * - per recipient: 2xx delivered, 5xx failed at once, 4xx and connection trouble deferred with
 *   backoff until the queue lifetime runs out (then failed, as expired);
 * - failed recipients produce one RFC 3464 bounce to the sender, never for a null sender.
 *
 * Wake-ups coalesce (a kick while one is pending is free) and a timer waits for the next due time.
 * With a server running, `mailbox queue …` comes through the control socket to the actions here,
 * so its changes are serialized with the sending.
 */
import {hostname} from 'node:os'
import type {Actor, Bus} from '../bus.js'
import {PermanentRouteError, Router, type RouteConfig} from '../delivery/route.js'
import {sendTo, type AttemptResult, type RecipientResult} from '../delivery/smtp-client.js'
import {isMailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {QueueEntry, QueueRecipient} from '../store/records.js'
import type {Store} from '../store/store.js'
import {DEFAULT_RETRY, nextAttemptAt, type RetryPolicy} from './backoff.js'
import {buildDsn, type FailedRecipient} from './dsn.js'
import {
  deleteEntry,
  dueEntries,
  flushEntries,
  getEntry,
  holdEntry,
  logAttempt,
  nextDue,
  recoverSending,
  releaseEntry,
  retryAll,
  retryEntry,
  updateEntry,
} from './ops.js'

export interface QueueConfig {
  /** senders working at once */
  senders: number
  /** of them, at most this many on one destination domain */
  perDomain: number
  connectTimeoutMs: number
  socketTimeoutMs: number
  retry: RetryPolicy
}

export const DEFAULT_QUEUE: QueueConfig = {senders: 8, perDomain: 4, connectTimeoutMs: 30_000, socketTimeoutMs: 120_000, retry: DEFAULT_RETRY}

export class QueueActor implements Actor {
  readonly name = 'queue'
  private readonly router: Router
  private readonly active = new Map<string, string>()
  private readonly perDomain = new Map<string, number>()
  private readonly inflight = new Set<Promise<void>>()
  private unregister: (() => void)[] = []
  private timer?: NodeJS.Timeout
  private kickPending = false
  private stopping = false

  constructor(
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: {hostname?: string; queue: QueueConfig; route: RouteConfig},
  ) {
    this.router = new Router(options.route)
  }

  async start(): Promise<void> {
    const recovered = recoverSending(this.store)
    if (recovered) this.log.info({recovered}, 'entries left sending by a previous run are queued again')
    const act = <T>(fn: () => T): T => {
      const result = fn()
      this.kick()
      return result
    }
    this.unregister = [
      this.bus.subscribe('queue.added', () => this.kick()),
      this.bus.handle('queue.retry', ({id}) => act(() => (id ? [retryEntry(this.store, id)] : retryAll(this.store)))),
      this.bus.handle('queue.hold', ({id}) => act(() => holdEntry(this.store, id))),
      this.bus.handle('queue.release', ({id}) => act(() => releaseEntry(this.store, id))),
      this.bus.handle('queue.delete', ({id}) => act(() => deleteEntry(this.store, id))),
      this.bus.handle('queue.flush', () => act(() => flushEntries(this.store))),
    ]
    this.kick()
  }

  async stop(): Promise<void> {
    this.stopping = true
    clearTimeout(this.timer)
    for (const off of this.unregister) off()
    // let attempts in flight finish and record their outcome (bounded by the socket timeouts)
    await Promise.allSettled([...this.inflight])
  }

  /** Coalesced wake-up: any number of kicks in one turn cost one scan. */
  kick(): void {
    if (this.kickPending || this.stopping) return
    this.kickPending = true
    setImmediate(() => {
      this.kickPending = false
      this.pump()
    })
  }

  private pump(): void {
    if (this.stopping) return
    const {senders, perDomain} = this.options.queue
    const free = senders - this.active.size
    if (free > 0) {
      for (const entry of dueEntries(this.store, Date.now(), free + this.active.size + 100)) {
        if (this.active.size >= senders) break
        if (this.active.has(entry.id) || (this.perDomain.get(entry.domain) ?? 0) >= perDomain) continue
        this.begin(entry)
      }
    }
    clearTimeout(this.timer)
    const due = nextDue(this.store)
    if (due !== undefined) this.timer = setTimeout(() => this.kick(), Math.min(Math.max(due - Date.now(), 50), 2 ** 31 - 1)).unref()
  }

  private begin(entry: QueueEntry): void {
    const claimed = this.store.transact(() => updateEntry(this.store, getEntry(this.store, entry.id), {state: 'sending', attempts: entry.attempts + 1}))
    this.active.set(claimed.id, claimed.domain)
    this.perDomain.set(claimed.domain, (this.perDomain.get(claimed.domain) ?? 0) + 1)
    this.bus.publish('queue.sending', {id: claimed.id, domain: claimed.domain, attempt: claimed.attempts})
    const work = this.attempt(claimed)
      .catch((err: unknown) => this.log.error({err, id: claimed.id}, 'delivery attempt failed unexpectedly'))
      .finally(() => {
        this.active.delete(claimed.id)
        const n = (this.perDomain.get(claimed.domain) ?? 1) - 1
        if (n <= 0) this.perDomain.delete(claimed.domain)
        else this.perDomain.set(claimed.domain, n)
        this.inflight.delete(work)
        this.kick()
      })
    this.inflight.add(work)
  }

  private async attempt(entry: QueueEntry): Promise<void> {
    const startedAt = Date.now()
    const pending = entry.recipients.filter((r) => r.state === 'pending' || r.state === 'deferred').map((r) => r.address)
    const raw = this.store.blobs.get(entry.blobId)
    let result: AttemptResult
    if (!raw) {
      result = {host: '', transcript: ['!: the message data is missing'], recipients: pending.map((address) => ({address, outcome: 'failed', reply: '554 5.3.0 message data missing'}))}
    } else {
      result = await this.deliver(entry, pending, raw)
    }
    this.finish(entry, result, startedAt)
  }

  /** Tries each hop and each of its addresses until one answers. */
  private async deliver(entry: QueueEntry, recipients: string[], raw: Buffer): Promise<AttemptResult> {
    const client = {hostname: this.options.hostname ?? hostname(), connectTimeoutMs: this.options.queue.connectTimeoutMs, socketTimeoutMs: this.options.queue.socketTimeoutMs}
    const transcript: string[] = []
    const all = (outcome: 'failed' | 'deferred', reply: string, host = ''): AttemptResult => ({host, transcript, recipients: recipients.map((address) => ({address, outcome, reply}))})
    let hops
    try {
      hops = await this.router.hops(entry.domain)
    } catch (err) {
      transcript.push(`!: ${(err as Error).message}`)
      return err instanceof PermanentRouteError ? all('failed', `550 5.1.2 ${(err as Error).message}`) : all('deferred', `451 4.4.3 ${(err as Error).message}`)
    }
    let last = all('deferred', '451 4.4.1 no host could be reached')
    for (const hop of hops) {
      let addresses: string[]
      try {
        addresses = await this.router.addresses(hop.host)
      } catch (err) {
        transcript.push(`!: ${hop.host}: ${(err as Error).message}`)
        continue
      }
      for (const address of addresses) {
        transcript.push(`-- ${hop.host} [${address}]:${hop.port}`)
        const r = await sendTo(hop, address, entry.from, recipients, raw, client)
        transcript.push(...r.transcript)
        last = {...r, transcript}
        // the host answered with SMTP replies: its verdict stands; otherwise try the next one
        if (r.transcript.some((l) => l.startsWith('S: '))) return last
      }
    }
    return last
  }

  private finish(entry: QueueEntry, result: AttemptResult, startedAt: number): void {
    const now = Date.now()
    const byAddress = new Map(result.recipients.map((r) => [r.address, r]))
    const expired = now - entry.createdAt > this.options.queue.retry.maxLifetimeMs
    const failedNow: FailedRecipient[] = []
    const recipients: QueueRecipient[] = entry.recipients.map((r) => {
      const got: RecipientResult | undefined = byAddress.get(r.address)
      if (!got) return r
      if (got.outcome === 'deferred' && expired) {
        failedNow.push({address: r.address, reply: got.reply, remoteHost: result.host, expired: true})
        return {...r, state: 'failed', lastError: got.reply}
      }
      if (got.outcome === 'failed') failedNow.push({address: r.address, reply: got.reply, remoteHost: result.host})
      const {lastError: _, ...rest} = r
      return {...rest, state: got.outcome, ...(got.outcome === 'delivered' ? {} : {lastError: got.reply})}
    })
    const open = recipients.some((r) => r.state === 'deferred' || r.state === 'pending')
    const state = open ? 'deferred' : recipients.some((r) => r.state === 'delivered') ? 'delivered' : 'failed'
    const lastError = recipients.find((r) => r.lastError && r.state !== 'delivered')?.lastError
    // the bounce quotes the original header: read it before the final state releases the blob
    const original = failedNow.length ? this.store.blobs.get(entry.blobId) : undefined
    let updated: QueueEntry | undefined
    this.store.transact(() => {
      const current = this.store.queue.get(entry.id)
      if (!current) return // deleted meanwhile
      logAttempt(this.store, {
        queueId: entry.id,
        attempt: entry.attempts,
        startedAt,
        endedAt: now,
        host: result.host,
        result: state === 'deferred' ? 'deferred' : failedNow.length && state === 'failed' ? 'failed' : 'delivered',
        transcript: result.transcript,
      })
      const {lastError: _, ...rest} = current
      updated = updateEntry(this.store, rest, {
        recipients,
        state,
        nextAttemptAt: open ? nextAttemptAt(this.options.queue.retry, entry.attempts, now) : now,
        ...(lastError ? {lastError} : {}),
      })
    })
    if (!updated) return
    this.bus.publish('delivery.attempt', {id: entry.id, attempt: entry.attempts, host: result.host, state})
    this.bus.publish(`queue.${state}` as const, {id: entry.id, domain: entry.domain, recipients: recipients.map((r) => r.address), ...(lastError ? {lastError} : {})})
    this.log.info({id: entry.id, domain: entry.domain, attempt: entry.attempts, host: result.host, state}, 'delivery attempt')
    if (failedNow.length) void this.bounce(entry, failedNow, now, original ?? Buffer.alloc(0))
  }

  private async bounce(entry: QueueEntry, failed: FailedRecipient[], at: number, original: Buffer): Promise<void> {
    if (!entry.from) return // a bounce (null sender) is never bounced: no loops
    const dsn = buildDsn({hostname: this.options.hostname ?? hostname(), to: entry.from, arrivedAt: entry.createdAt, lastAttemptAt: at, recipients: failed, original})
    try {
      await this.bus.call('mailstore.inject', {from: '', to: [entry.from], raw: dsn.toString('base64')})
      this.bus.publish('queue.bounced', {id: entry.id, to: entry.from, recipients: failed.map((f) => f.address)})
    } catch (err) {
      this.log.warn({id: entry.id, to: entry.from, err: isMailboxError(err) ? err.message : err}, 'bounce could not be delivered')
    }
  }
}
