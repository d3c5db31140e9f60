/**
 * Vacation-reply records (RFC 5230 "one reply per sender per period") are only ever read within
 * their period; past it they are dead weight, one per correspondent per user. The server removes
 * them on a timer, a bounded batch per commit, as greylisting does with its triplets.
 */
import type {Logger} from '../log.js'
import type {MailboxStore} from '../store/backend.js'

/** how often expired records are removed: they cost space, never correctness (a claim past its period wins anyway) */
export const VACATION_PURGE_INTERVAL_MS = 60 * 60_000

export class VacationPurge {
  private timer?: NodeJS.Timeout
  private running?: Promise<unknown>
  private stopped = false

  constructor(
    private readonly store: MailboxStore,
    private readonly log: Logger,
    private readonly intervalMs = VACATION_PURGE_INTERVAL_MS,
  ) {}

  start(): void {
    this.stopped = false
    this.schedule()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  /** removes every record past its period, batch by batch; how many went */
  async purgeOnce(now = Date.now()): Promise<number> {
    let total = 0
    for (;;) {
      const removed = await this.store.sieve.purgeVacationReplies(now)
      total += removed
      if (removed === 0 || this.stopped) break
    }
    if (total) this.log.info({removed: total}, 'expired vacation-reply records purged')
    return total
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.purgeOnce()
        .catch((err: unknown) => this.log.error({err}, 'vacation-reply purge failed'))
        .finally(() => this.schedule())
    }, this.intervalMs).unref()
  }
}
