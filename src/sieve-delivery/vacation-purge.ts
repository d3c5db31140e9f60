/**
 * Vacation-reply records (RFC 5230 "one reply per sender per period") are only ever read within
 * their period; past it they are dead weight, one per correspondent per user. The server removes
 * them on a timer, a bounded batch per commit, as greylisting does with its triplets.
 */
import type {Logger} from '../log.js'
import {RepeatingTask} from '../repeating-task.js'
import type {MailboxStore} from '../store/backend.js'

/** how often expired records are removed: they cost space, never correctness (a claim past its period wins anyway) */
export const VACATION_PURGE_INTERVAL_MS = 60 * 60_000

export class VacationPurge {
  private readonly task: RepeatingTask

  constructor(
    private readonly store: MailboxStore,
    private readonly log: Logger,
    intervalMs = VACATION_PURGE_INTERVAL_MS,
  ) {
    this.task = new RepeatingTask(
      () => this.purgeOnce(),
      () => intervalMs,
      (err) => this.log.error({err}, 'vacation-reply purge failed'),
    )
  }

  start(): void {
    this.task.start()
  }

  stop(): Promise<void> {
    return this.task.stop()
  }

  /** removes every record past its period, batch by batch; how many went */
  async purgeOnce(now = Date.now()): Promise<number> {
    let total = 0
    for (;;) {
      const removed = await this.store.sieve.purgeVacationReplies(now)
      total += removed
      if (removed === 0 || this.task.stopping) break
    }
    if (total) this.log.info({removed: total}, 'expired vacation-reply records purged')
    return total
  }
}
