/**
 * Learning from users: the mailstore publishes `mail.copied` after a COPY or MOVE committed
 * (src/mailstore/actor.ts); this actor decides what the move says (./learn.ts: into Junk spam,
 * out of Junk ham) and queues one job per message in the store (`store.learn`), right after the
 * copy's commit rather than inside it: the IMAP reply never waits for it, and the mail store's
 * transaction stays free of a filter's business. A crash between the two commits loses that
 * training (advice to a filter, not mail); nothing else can.
 *
 * A worker drains the queue in due order: each job's message is read from the store (gone — the
 * user expunged it meanwhile — the job is dropped) and posted to rspamd's controller; a failure
 * is retried with a doubling wait up to `learnMaxAttempts`, a refusal (HTTP 4xx) is not. The
 * queue is bounded (`learnMaxQueued`): moves past it are counted and dropped. Without a
 * controller (or with `learn` off) moves train nothing and are counted (`spam.learn` untrained).
 */
import type {Actor, Bus, EventMap, LearnOutcome} from '../bus.js'
import {isMailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {LearnJob, MailboxStore} from '../store/backend.js'
import type {SpecialUse} from '../store/records.js'
import {learnBackoff, learnKindOf} from './learn.js'
import type {RspamdClient} from './rspamd.js'
import type {RspamdConfig} from './rspamd-config.js'

/** jobs one claim takes (worked one after another) */
const BATCH = 8
/** the longest the worker sleeps before looking at the queue again (another node's jobs) */
const MAX_SLEEP_MS = 60_000

export class LearnActor implements Actor {
  readonly name = 'learn'
  private unsubscribe?: () => void
  private timer?: NodeJS.Timeout
  private pumping?: Promise<void>
  private again = false
  private stopped = false

  /** `client` with a controller url and `learn` on: jobs are queued and worked; otherwise only counted */
  constructor(
    private readonly bus: Bus,
    private readonly store: MailboxStore,
    private readonly log: Logger,
    private readonly config: RspamdConfig,
    private readonly client?: RspamdClient,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.bus.subscribe('mail.copied', ({body}) => {
      this.onCopied(body as EventMap['mail.copied']).catch((err: unknown) => this.log.error({err}, 'learning from a move failed'))
    })
    if (this.client) this.kick()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    clearTimeout(this.timer)
    await this.pumping
    this.client?.close()
  }

  /** after a copy or move committed: what it says, queued (or counted) */
  async onCopied({user, sourceMailboxId, target, blobIds}: EventMap['mail.copied']): Promise<void> {
    if (target.specialUse === '\\Trash') return
    let source: SpecialUse | undefined
    try {
      source = (await this.store.mail.folderById(user, sourceMailboxId)).specialUse
    } catch (err) {
      // the source folder went meanwhile: nothing to tell a move out of Junk from another
      if (isMailboxError(err, 'not-found')) return
      throw err
    }
    const kind = learnKindOf(source, target.specialUse)
    if (!kind) return
    if (!this.client) {
      this.outcome(kind, 'untrained', blobIds.length)
      this.log.info({user, kind, messages: blobIds.length, folder: target.name}, 'moved messages not trained: no rspamd controller (spam.rspamd.controllerUrl) or learning off')
      return
    }
    const added = await this.store.learn.enqueue(
      blobIds.map((blobId) => ({user, blobId, kind})),
      Date.now(),
      this.config.learnMaxQueued,
    )
    if (added.length) this.outcome(kind, 'queued', added.length)
    const dropped = blobIds.length - added.length
    if (dropped) {
      this.outcome(kind, 'overflow', dropped)
      this.log.warn({user, kind, dropped, maxQueued: this.config.learnMaxQueued}, 'the learning queue is full: moved messages not trained')
    }
    this.log.debug({user, kind, messages: added.length}, 'learning queued')
    this.kick()
  }

  /** works the due jobs now (coalesced: a pump running does one more round) */
  kick(): void {
    if (this.stopped || !this.client) return
    if (this.pumping) {
      this.again = true
      return
    }
    clearTimeout(this.timer)
    this.pumping = this.pump()
      .catch((err: unknown) => this.log.error({err}, 'the learning worker failed'))
      .finally(() => {
        this.pumping = undefined
        if (this.again) {
          this.again = false
          this.kick()
        } else void this.sleep()
      })
  }

  private async pump(): Promise<void> {
    const leaseMs = BATCH * this.config.timeoutMs + 60_000
    for (;;) {
      this.again = false
      const jobs = await this.store.learn.claim(Date.now(), BATCH, leaseMs)
      if (!jobs.length) return
      for (const job of jobs) {
        if (this.stopped) return
        await this.work(job)
      }
    }
  }

  private async work(job: LearnJob): Promise<void> {
    const message = await this.store.mail.blob(job.blobId)
    if (!message) {
      await this.store.learn.remove(job.id)
      this.outcome(job.kind, 'gone', 1)
      this.log.info({user: job.user, kind: job.kind, blobId: job.blobId}, 'not learned: the message is gone')
      return
    }
    try {
      const result = await this.client!.learn(job.kind, message)
      await this.store.learn.remove(job.id)
      this.outcome(job.kind, 'learned', 1)
      this.log.info({user: job.user, kind: job.kind, blobId: job.blobId, result}, 'rspamd learned a message')
    } catch (err) {
      const error = (err as Error).message
      const attempts = job.attempts + 1
      if ((err as {permanent?: boolean}).permanent || attempts >= this.config.learnMaxAttempts) {
        await this.store.learn.remove(job.id)
        this.outcome(job.kind, 'failed', 1)
        this.log.warn({user: job.user, kind: job.kind, blobId: job.blobId, attempts, err: error}, 'rspamd did not learn a message: given up')
        return
      }
      await this.store.learn.retry(job.id, Date.now() + learnBackoff(attempts, this.config.learnRetryMs), error)
      this.log.info({user: job.user, kind: job.kind, blobId: job.blobId, attempts, err: error}, 'rspamd did not learn a message: will retry')
    }
  }

  /** until the next job is due (or a while, for jobs another node may add) */
  private async sleep(): Promise<void> {
    if (this.stopped) return
    const next = await this.store.learn.nextDue().catch(() => undefined)
    if (this.stopped || this.pumping) return
    const wait = Math.min(MAX_SLEEP_MS, Math.max(0, (next ?? Infinity) - Date.now()))
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.kick(), wait)
    this.timer.unref()
  }

  private outcome(kind: 'spam' | 'ham', outcome: LearnOutcome, count: number): void {
    this.bus.publish('spam.learn', {kind, outcome, count})
  }
}
