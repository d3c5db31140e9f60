/**
 * The queue actor: the foreman of seed 001. It pulls due entries (priority, then due time) into a
 * pool of senders, at most `perDomain` at once per destination, and records each outcome:
 *
 * - before dialing, an entry is claimed (state `sending`, attempts + 1) durably; after a crash,
 *   `sending` entries are due again (a duplicate is possible, a loss is not);
 * - claims and outcomes are async group commits (all of an event turn share one fsync, off the
 *   main thread), so delivery never stalls the IMAP, POP3 and SMTP sessions; see claim() and
 *   begin() for how an entry is held in memory until its commit lands;
 * - each attempt runs on the sender thread (../delivery/sender-thread.ts), where the SMTP
 *   connections live: it tries the route / smarthost / MX hosts in order until one answers, and
 *   its SMTP transcript goes to the delivery log; a sender whose connection works carries further
 *   due entries for the same domain over it, up to MESSAGES_PER_CONNECTION. The main thread
 *   keeps the bookkeeping (claims, outcomes, bounces), next to the store;
 * - per recipient: 2xx delivered, 5xx failed at once, 4xx and connection trouble deferred with
 *   backoff until the queue lifetime runs out (then failed, as expired);
 * - failed recipients produce one RFC 3464 bounce to the sender, never for a null sender; the
 *   bounce is stored before the entry's final state, so a crash in between repeats the attempt
 *   (and at worst the bounce) instead of losing it.
 *
 * Wake-ups coalesce (a kick while one is pending is free) and a timer waits for the next due time.
 *
 * The foreman works over `QueueStore` (../store/backend.ts) alone, so one foreman serves both
 * backends. On LMDB the lease of a claim is the process. On PostgreSQL several nodes' foremen
 * share one queue: a claim is a lease of `queue.leaseSeconds`, renewed on a timer (a third of
 * it) while the entry is in hand; a node that dies stops renewing, and once its leases ran out
 * the due scans of the others list its entries and their claims take them over.
 * With a server running, `mailbox queue …` comes through the control socket to the actions here,
 * so its changes are serialized with the sending.
 */
import {hostname} from 'node:os'
import type {Actor, Bus, EventMap} from '../bus.js'
import type {RouteConfig} from '../delivery/route.js'
import {SenderThread, type KeptSession, type SenderSetup} from '../delivery/sender-thread.js'
import type {AttemptResult, RecipientResult} from '../delivery/smtp-client.js'
import {isMailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {StsDecision} from '../mta-sts/outcome.js'
import type {StsPolicies} from '../mta-sts/policies.js'
import type {DuePosition, DueScan, QueueStore} from '../store/backend.js'
import {BULK_BATCH} from '../store/queue-rules.js'
import type {QueueEntry, QueueRecipient, QueueState} from '../store/records.js'
import type {TlsOutcome} from '../tls-rpt/outcome.js'
import {attemptLogFields} from './attempt-log.js'
import {DEFAULT_RETRY, nextAttemptAt, type RetryPolicy} from './backoff.js'
import {buildDsn, type FailedRecipient} from './dsn.js'
import {FAILED_BY_ADMIN, failEntry, type FailResult} from './fail.js'

export interface QueueConfig {
  /** senders working at once */
  senders: number
  /** of them, at most this many on one destination domain */
  perDomain: number
  /** nice value of the sender thread (0-19): delivery yields the CPU to interactive sessions */
  senderNice: number
  connectTimeoutMs: number
  socketTimeoutMs: number
  retry: RetryPolicy
  /** delivered and failed entries stay listable this long, then are removed with their delivery logs; 0 keeps them for ever */
  retentionMs: number
  /**
   * PostgreSQL: how long a claim holds without renewal (a node renews a third of the way); a
   * dead node's entries are taken over by the others this long after its last renewal
   */
  leaseSeconds: number
}

export interface QueueActorOptions {
  hostname?: string
  queue: QueueConfig
  route: RouteConfig
  trustedCa?: string
  /** remote domains' MTA-STS policies for MX delivery (absent: not applied), and the CAs their MX hosts are checked against */
  sts?: StsPolicies
  stsTrustedCa?: string
  /** hears each attempt's TLS session outcomes (RFC 8460 reports), on the main thread; must not throw */
  tlsOutcomes?: (entry: QueueEntry, outcomes: TlsOutcome[]) => void
  /**
   * whether an entry (with its message) is a TLS report (RFC 8460 §5.3): delivered despite TLS
   * failures (no MTA-STS policy applies to it), and its sessions are not counted (no reports about reports)
   */
  isTlsReport?: (entry: QueueEntry, message: Buffer) => Promise<boolean>
}

/** a connection is closed after this many messages, so one busy destination cannot hold a sender forever */
const MESSAGES_PER_CONNECTION = 100

/**
 * A sender with a working connection keeps this many further entries claimed (durably `sending`)
 * ahead of the one on the wire, so a claim's commit latency hides behind the sending. A crash
 * queues them again (attempts + 1 without a dial: a duplicate attempt count, never a loss).
 */
const CLAIM_AHEAD = 4
/**
 * Index keys a pump or a top-up looks at (bounds the foreman's work per wake-up, however many
 * entries of other or busy domains are due in front). A pump splits them between the front of
 * the due order and where the previous pump stopped.
 */
const SCAN_KEYS = 1000
/**
 * Entry ids whose destination domain the foreman remembers (a domain never changes), so that due
 * entries of a domain at its limit, or of another domain than a top-up's, are passed over by
 * their index key alone instead of being read and decoded again at every wake-up.
 */
const DOMAINS_REMEMBERED = 100_000
/**
 * Due entries of a domain one scan lists for its senders' top-ups, handed out one by one: a scan
 * of the index per this many messages, not per message. A listed entry that changed meanwhile is
 * no harm: a claim checks, inside its commit, that the entry is still due.
 */
const CANDIDATES = 64

export const DEFAULT_QUEUE: QueueConfig = {
  senders: 8,
  perDomain: 4,
  senderNice: 10,
  connectTimeoutMs: 30_000,
  socketTimeoutMs: 120_000,
  retry: DEFAULT_RETRY,
  retentionMs: 7 * 24 * 3600_000,
  leaseSeconds: 60,
}

/**
 * how often finished entries past their retention are looked for: hourly, or at a quarter of a
 * shorter retention (not below a second), so an entry outlives it by a quarter at most
 */
export function purgeEveryMs(retentionMs: number): number {
  return Math.min(3600_000, Math.max(1000, Math.floor(retentionMs / 4)))
}
/** with due entries all blocked by the pool's limits, how often the foreman looks again unasked */
const IDLE_RECHECK_MS = 1000

type ScanProgress = NonNullable<DueScan['progress']>

/** whether `a` comes after `b` in the due order (priority, due time, id) */
function laterIn(a: DuePosition, b: DuePosition): boolean {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] > b[2]
}

export class QueueActor implements Actor {
  readonly name = 'queue'
  /** where the SMTP connections live (started with the actor) */
  private sender?: SenderThread
  private readonly active = new Map<string, string>()
  private readonly perDomain = new Map<string, number>()
  /** entry id -> destination domain, for entries seen (DOMAINS_REMEMBERED at most) */
  private readonly domainOf = new Map<string, string>()
  /** when the wake-up timer fires (ms since the epoch) */
  private timerAt = Infinity
  /** per domain with senders: ids of its due entries for their top-ups (CANDIDATES) */
  private readonly candidates = new Map<string, string[]>()
  /** where the last pump stopped at its bound of index keys: the next goes on from there */
  private resumeAt?: DuePosition
  private readonly inflight = new Set<Promise<void>>()
  /** senders (connections) running; `active` also counts entries claimed ahead and outcomes not yet durable */
  private workers = 0
  private unregister: (() => void)[] = []
  private timer?: NodeJS.Timeout
  private purgeTimer?: NodeJS.Timeout
  /** the purge running, if one is */
  private purging?: Promise<void>
  private renewTimer?: NodeJS.Timeout
  private kickPending = false
  /** a pump is running (on PostgreSQL its scans are round trips): a kick meanwhile pumps again after it */
  private pumping = false
  private pumpAgain = false
  private stopping = false

  constructor(
    private readonly bus: Bus,
    private readonly queue: QueueStore,
    private readonly log: Logger,
    private readonly options: QueueActorOptions,
  ) {}

  /** A reload (SIGHUP): attempts that begin from now on take these routes, relay and trust; attempts in flight finish on theirs. */
  reroute(route: RouteConfig, trustedCa: string | undefined, stsTrustedCa?: string): void {
    this.options.route = route
    if (trustedCa) this.options.trustedCa = trustedCa
    else delete this.options.trustedCa
    if (stsTrustedCa) this.options.stsTrustedCa = stsTrustedCa
    else delete this.options.stsTrustedCa
    this.sender?.configure(this.senderSetup())
  }

  /** what the sender thread delivers with: sent at start and again at each reload (the queue section is updated in place first) */
  private senderSetup(): SenderSetup {
    const {connectTimeoutMs, socketTimeoutMs, senderNice} = this.options.queue
    const {route, trustedCa, stsTrustedCa} = this.options
    return {
      route,
      client: {hostname: this.options.hostname ?? hostname(), connectTimeoutMs, socketTimeoutMs},
      nice: senderNice,
      ...(trustedCa ? {trustedCa} : {}),
      ...(stsTrustedCa ? {stsTrustedCa} : {}),
    }
  }

  async start(): Promise<void> {
    this.sender = new SenderThread(this.senderSetup(), (err) => this.log.error({err}, 'the delivery thread failed; attempts it had in hand are deferred'))
    const recovered = await this.queue.recoverExpired(Date.now())
    if (recovered) this.log.info({recovered}, 'entries left sending by a previous run are queued again')
    const act = async <T>(fn: () => Promise<T>): Promise<T> => {
      const result = await fn()
      this.kick()
      return result
    }
    this.unregister = [
      this.bus.subscribe('queue.added', ({body}) => {
        const {id, domain} = body as EventMap['queue.added']
        this.remember(id, domain)
        // a new entry frees no sender: only it could start now, and not while every sender is
        // busy or its domain has all it may have (a sender that ends kicks; a burst of mail for
        // one busy domain then costs no scan per message)
        if (this.workers < this.options.queue.senders && !this.atLimit(domain)) this.kick()
      }),
      this.bus.handle('queue.retry', ({id}) => act(async () => (id ? [await this.queue.retry(id)] : this.queue.retryAll()))),
      this.bus.handle('queue.hold', ({id}) => act(() => this.queue.hold(id))),
      this.bus.handle('queue.release', ({id}) => act(() => this.queue.release(id))),
      this.bus.handle('queue.delete', ({id}) => act(() => this.queue.delete(id))),
      this.bus.handle('queue.flush', ({domain}) => act(() => this.queue.flush(domain))),
      this.bus.handle('queue.fail', ({id}) => this.failByAdmin(id)),
    ]
    this.kick()
    this.purge()
    this.schedulePurge()
    if (this.queue.leased) this.renewTimer = setInterval(() => this.renew(), (this.leaseMs / 3) | 0).unref()
  }

  private get leaseMs(): number {
    return this.options.queue.leaseSeconds * 1000
  }

  /**
   * Renews the leases of the entries in hand (claimed, being sent, outcome not yet recorded). One
   * that is not renewed was taken over by another node after this one stalled past its lease: its
   * outcome will be refused, and the other node's attempt decides.
   */
  private renew(): void {
    const ids = [...this.active.keys()]
    if (!ids.length) return
    this.queue.renewLeases(ids, this.leaseMs).then(
      (held) => {
        if (held.length < ids.length) {
          const kept = new Set(held)
          this.log.warn({lost: ids.filter((id) => !kept.has(id) && this.active.has(id))}, 'claims whose lease ran out were taken over by another node')
        }
      },
      (err: unknown) => this.log.error({err}, 'queue leases could not be renewed'),
    )
  }

  /** `queue fail ID` with the server running: see ./fail.ts */
  private async failByAdmin(id: string): Promise<FailResult> {
    const inject = (to: string, dsn: Buffer) => this.bus.call('mailstore.inject', {from: '', to: [to], raw: dsn.toString('base64')})
    const result = await failEntry(this.queue, id, {hostname: this.options.hostname ?? hostname(), inject})
    const {entry} = result
    this.bus.publish('queue.failed', {id: entry.id, domain: entry.domain, recipients: result.recipients, lastError: FAILED_BY_ADMIN})
    if (result.bouncedTo) this.bus.publish('queue.bounced', {id: entry.id, to: result.bouncedTo, recipients: result.recipients})
    this.log.info({id: entry.id, domain: entry.domain, recipients: result.recipients, bouncedTo: result.bouncedTo, bounceError: result.bounceError}, 'entry failed by the administrator')
    return result
  }

  /** the next purge, by the retention of the moment (a reload (SIGHUP) may have changed it; 0 looks again hourly) */
  private schedulePurge(): void {
    if (this.stopping) return
    const ms = this.options.queue.retentionMs
    this.purgeTimer = setTimeout(() => {
      this.purge()
      this.schedulePurge()
    }, purgeEveryMs(ms > 0 ? ms : Infinity)).unref()
  }

  /**
   * Removes finished entries past retention with their delivery logs, BULK_BATCH per commit (each
   * commit's I/O lets the sessions in, so a long backlog never holds the event loop long). Purges
   * do not overlap. On PostgreSQL every node purges: a batch deletes what is still there, so
   * nodes purging at once only share the work.
   */
  private purge(): void {
    if (this.purging || this.options.queue.retentionMs <= 0) return
    const before = Date.now() - this.options.queue.retentionMs
    const run = async () => {
      let removed = 0
      for (let step = BULK_BATCH; step === BULK_BATCH && !this.stopping; removed += step) step = await this.queue.purgeFinished(before, BULK_BATCH)
      return removed
    }
    this.purging = run()
      .then(
        (removed) => void (removed && this.log.info({removed, finishedBefore: new Date(before).toISOString()}, 'finished queue entries past their retention removed, with their delivery logs')),
        (err: unknown) => this.log.error({err}, 'finished queue entries could not be purged'),
      )
      .finally(() => (this.purging = undefined))
  }

  async stop(): Promise<void> {
    this.stopping = true
    clearTimeout(this.timer)
    clearTimeout(this.purgeTimer)
    for (const off of this.unregister) off()
    await this.purging
    // let attempts in flight finish and record their outcome (bounded by the socket timeouts);
    // a sender that ends hands its last outcome commit to `inflight`, hence the loop
    while (this.inflight.size) await Promise.allSettled([...this.inflight])
    // leases are renewed until the last outcome is recorded (a send may outlast a lease)
    clearInterval(this.renewTimer)
    await this.sender?.stop()
  }

  /**
   * Another node made an entry due at `at` (the store's queue signal): scan now if a sender is
   * free, else at `at`. On one node `queue.added` does this.
   */
  dueAt(at: number): void {
    if (at <= Date.now()) {
      if (this.workers < this.options.queue.senders) this.kick()
    } else this.wakeBy(at)
  }

  /** Coalesced wake-up: any number of kicks in one turn cost one scan. */
  kick(): void {
    if (this.kickPending || this.stopping) return
    this.kickPending = true
    setImmediate(() => {
      this.kickPending = false
      if (this.pumping) this.pumpAgain = true
      else void this.pumpOnce()
    })
  }

  private async pumpOnce(): Promise<void> {
    this.pumping = true
    try {
      await this.pump()
    } catch (err) {
      this.log.error({err}, 'the queue could not be scanned')
      this.wakeBy(Date.now() + IDLE_RECHECK_MS)
    } finally {
      this.pumping = false
      if (this.pumpAgain) {
        this.pumpAgain = false
        this.kick()
      }
    }
  }

  private async pump(): Promise<void> {
    if (this.stopping) return
    if (this.workers < this.options.queue.senders) {
      // the front of the due order first (new and high-priority mail), then on from where the last
      // pump stopped, a window per pump: entries behind a long run of a busy domain's are reached too
      const skip = (id: string) => this.active.has(id) || this.atLimit(this.domainOf.get(id))
      const front: ScanProgress = {ended: false}
      await this.startDue({skip, maxKeys: SCAN_KEYS / 2, progress: front})
      if (!front.ended && this.workers < this.options.queue.senders) {
        const rest: ScanProgress = {ended: false}
        const after = this.resumeAt && front.last && laterIn(this.resumeAt, front.last) ? this.resumeAt : front.last
        await this.startDue({skip, maxKeys: SCAN_KEYS / 2, ...(after ? {after} : {}), progress: rest})
        this.resumeAt = rest.ended ? undefined : rest.last
      }
    }
    const due = await this.queue.nextDue()
    if (this.stopping) return
    clearTimeout(this.timer)
    this.timerAt = Infinity
    if (due === undefined) return
    // An entry due now that no sender took waits for a sender or a domain slot: a sender that
    // ends kicks. The slow timer is only a safety net.
    this.wakeBy(due <= Date.now() ? Date.now() + IDLE_RECHECK_MS : due)
  }

  /** begins senders on the due entries of `scan` while senders are free and their domains have room */
  private startDue(scan: DueScan): Promise<void> {
    return this.queue.due(Date.now(), scan, (entry) => {
      this.remember(entry.id, entry.domain)
      // checked again here: a batch (PostgreSQL) was listed before the begins of this scan
      if (this.atLimit(entry.domain) || this.active.has(entry.id)) return true
      this.begin(entry)
      return this.workers < this.options.queue.senders
    })
  }

  /** the timer fires at `at` at the latest (an outcome that defers needs no scan, only this) */
  private wakeBy(at: number): void {
    if (at >= this.timerAt || this.stopping) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => this.kick(), Math.min(Math.max(at - Date.now(), 50), 2 ** 31 - 1)).unref()
  }

  /** whether a domain (when known) has all the senders it may have */
  private atLimit(domain: string | undefined): boolean {
    return domain !== undefined && (this.perDomain.get(domain) ?? 0) >= this.options.queue.perDomain
  }

  private remember(id: string, domain: string): void {
    if (this.domainOf.size >= DOMAINS_REMEMBERED && !this.domainOf.has(id)) this.domainOf.delete(this.domainOf.keys().next().value!)
    this.domainOf.set(id, domain)
  }

  /**
   * Claims `entry` for a sender: in memory at once (so no other sender and no pump picks it while
   * the commit is pending), then durably (state `sending`, attempts + 1) in an async commit that
   * shares its fsync with every other claim and outcome of the same turn. Resolves once durable,
   * or with undefined when the entry stopped being due before the commit ran (a `queue delete` or
   * `hold` got there first): the state is read inside the commit, so the check cannot go stale.
   */
  private async claim(entry: Pick<QueueEntry, 'id' | 'domain'>): Promise<QueueEntry | undefined> {
    this.active.set(entry.id, entry.domain)
    let claimed: QueueEntry | undefined
    try {
      claimed = await this.queue.claim(entry.id, Date.now(), this.leaseMs)
    } finally {
      if (!claimed) this.active.delete(entry.id)
    }
    if (!claimed) return undefined
    this.bus.publish('queue.sending', {id: claimed.id, domain: claimed.domain, attempt: claimed.attempts})
    return claimed
  }

  /**
   * Tops `ahead` up to CLAIM_AHEAD claims (at most `room`) on due entries of `domain` that nobody
   * holds. The claims are issued in one turn, so they share one commit.
   */
  private async claimAhead(domain: string, ahead: Promise<QueueEntry | undefined>[], room: number): Promise<void> {
    const want = Math.min(CLAIM_AHEAD, room)
    let listed = this.candidates.get(domain)
    while (ahead.length < want) {
      if (!listed?.length) {
        listed = await this.dueOf(domain)
        if (!listed.length) return void this.candidates.delete(domain)
        this.candidates.set(domain, listed)
      }
      const id = listed.shift()!
      if (!this.active.has(id)) ahead.push(this.claim({id, domain}))
    }
  }

  /** ids of up to CANDIDATES due entries of `domain` nobody holds, in due order */
  private async dueOf(domain: string): Promise<string[]> {
    const found: string[] = []
    // other domains' entries are passed over by key once seen; past SCAN_KEYS the next top-up looks again
    const skip = (id: string) => this.active.has(id) || (this.domainOf.get(id) ?? domain) !== domain
    await this.queue.due(Date.now(), {skip, maxKeys: SCAN_KEYS}, (entry) => {
      this.remember(entry.id, entry.domain)
      return !(entry.domain === domain && !this.active.has(entry.id) && found.push(entry.id) >= CANDIDATES)
    })
    return found
  }

  /**
   * A sender: delivers `entry`, then keeps its connection for the next due entries of the domain.
   * Pipelined so the wire never waits for a commit: while one message is sent, the claims of the
   * next few (CLAIM_AHEAD) are committing, and each outcome commits while later messages go out.
   * An entry stays in `active` from its claim until its outcome is durable.
   */
  private begin(entry: QueueEntry): void {
    const domain = entry.domain
    this.perDomain.set(domain, (this.perDomain.get(domain) ?? 0) + 1)
    this.workers++
    const ahead: Promise<QueueEntry | undefined>[] = [this.claim(entry)]
    const work = (async () => {
      let current: QueueEntry | undefined
      let session: KeptSession | undefined
      try {
        for (let sent = 0; ahead.length; ) {
          current = await ahead.shift()
          if (!current) continue // deleted or held before its claim committed
          const startedAt = Date.now()
          const attempt = await this.attempt(current, session)
          sent++
          if (attempt.result.tlsOutcomes) this.options.tlsOutcomes?.(current, attempt.result.tlsOutcomes)
          session = attempt.session
          this.settle(current, attempt.result, startedAt)
          current = undefined
          // entries claimed ahead are attempted whatever happens (on a new connection if this one broke)
          if (session && !this.stopping) await this.claimAhead(domain, ahead, MESSAGES_PER_CONNECTION - sent - ahead.length)
        }
      } catch (err) {
        this.log.error({err, id: current?.id}, 'delivery attempt failed unexpectedly')
        if (current) this.active.delete(current.id)
        // claims ahead are dropped from memory; an entry whose claim committed stays `sending`
        // until the next start queues it again, like any entry a crash left sending
        for (const claiming of ahead) void claiming.then((e) => e && this.active.delete(e.id), () => {})
      } finally {
        if (session) this.sender?.close(session)
        const n = (this.perDomain.get(domain) ?? 1) - 1
        if (n <= 0) {
          this.perDomain.delete(domain)
          this.candidates.delete(domain)
        } else this.perDomain.set(domain, n)
        this.workers--
        this.kick()
      }
    })()
    this.track(work)
  }

  /** Records an attempt's outcome in the background; the entry is released once it is durable. */
  private settle(entry: QueueEntry, result: AttemptResult, startedAt: number): void {
    this.track(
      this.finish(entry, result, startedAt).then(
        (state) => {
          this.active.delete(entry.id)
          if (state !== 'deferred') this.domainOf.delete(entry.id)
        },
        (err: unknown) => {
          this.active.delete(entry.id)
          this.log.error({err, id: entry.id}, 'delivery outcome could not be recorded')
        },
      ),
    )
  }

  private track(work: Promise<void>): void {
    this.inflight.add(work)
    void work.finally(() => this.inflight.delete(work))
  }

  /** One attempt on the sender thread, over the sender's kept connection when it still works. */
  private async attempt(entry: QueueEntry, session: KeptSession | undefined): Promise<{result: AttemptResult; session?: KeptSession}> {
    const pending = entry.recipients.filter((r) => r.state === 'pending' || r.state === 'deferred').map((r) => r.address)
    const raw = await this.queue.message(entry)
    if (!raw) {
      return {...(session ? {session} : {}), result: {host: '', transcript: ['!: the message data is missing'], recipients: pending.map((address) => ({address, outcome: 'failed', reply: '554 5.3.0 message data missing'}))}}
    }
    if (!this.sender) throw new Error('the queue is not started')
    const report = (await this.options.isTlsReport?.(entry, raw)) === true
    const sts = report ? undefined : await this.stsOf(entry.domain)
    if (sts === 'undecided') {
      const reply = `451 4.7.5 the MTA-STS policy of ${entry.domain} could not be decided (the policy cache could not be read); not delivering without it`
      return {...(session ? {session} : {}), result: {host: '', transcript: [`!: ${reply.slice(10)}`], recipients: pending.map((address) => ({address, outcome: 'deferred', reply}))}}
    }
    const done = await this.sender.attempt({domain: entry.domain, from: entry.from, recipients: pending, message: raw, ...(sts ? {sts} : {})}, session)
    if (report) delete done.result.tlsOutcomes
    return done
  }

  /**
   * The domain's MTA-STS decision when its mail goes by MX (a route or the smarthost is the
   * operator's choice, no policy applies). Trouble deciding (the store) is `undecided`: the
   * attempt is deferred, never made as without a policy (RFC 8461 §5: a cached enforce policy
   * must not be lifted by a failure, and whether one is cached is what could not be read).
   */
  private async stsOf(domain: string): Promise<StsDecision | undefined | 'undecided'> {
    const {sts, route} = this.options
    if (!sts || route.routes[domain] || route.relay) return undefined
    try {
      return await sts.decide(domain)
    } catch (err) {
      this.log.warn({err, domain}, 'the MTA-STS policy could not be decided; the attempt is deferred')
      return 'undecided'
    }
  }

  /** Records an attempt's outcome; resolves with the entry's new state (undefined: it was deleted meanwhile or taken over). */
  private async finish(entry: QueueEntry, result: AttemptResult, startedAt: number): Promise<QueueState | undefined> {
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
    // the bounce goes first (it quotes the original header, and the final state releases the blob)
    if (failedNow.length) await this.bounce(entry, failedNow, now, (await this.queue.message(entry)) ?? Buffer.alloc(0))
    const updated = await this.queue.finish(entry.id, {
      recipients,
      state,
      nextAttemptAt: open ? nextAttemptAt(this.options.queue.retry, entry.attempts, now) : now,
      ...(lastError ? {lastError} : {}),
      attempt: {
        queueId: entry.id,
        attempt: entry.attempts,
        startedAt,
        endedAt: now,
        host: result.host,
        result: state === 'deferred' ? 'deferred' : failedNow.length && state === 'failed' ? 'failed' : 'delivered',
        transcript: result.transcript,
        ...(result.tls ? {tls: result.tls} : {}),
      },
    })
    // deleted meanwhile, or (PostgreSQL) the lease ran out and another node's attempt decides
    if (!updated) return undefined
    // a deferred entry needs the timer for its next attempt
    if (state === 'deferred') this.wakeBy(updated.nextAttemptAt)
    this.bus.publish('delivery.attempt', {id: entry.id, attempt: entry.attempts, host: result.host, state})
    this.bus.publish(`queue.${state}` as const, {id: entry.id, domain: entry.domain, recipients: recipients.map((r) => r.address), ...(lastError ? {lastError} : {})})
    this.log.info(attemptLogFields(entry, result, updated, now), 'delivery attempt')
    return state
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
