/**
 * A process-wide budget of message bytes held in memory by SMTP sessions (`smtp.maxBufferedBytes`).
 *
 * Each message being received or committed holds the bytes it has received so far, from its first
 * chunk until its commit is over. A session whose chunk takes the total over the budget is paused
 * (TCP backpressure: the client's writes stall), and paused sessions resume as others release.
 *
 * No deadlock, no starvation: holders are ordered by their first byte, and the oldest one is never
 * paused (and is resumed at once when it becomes the oldest). It either finishes or its connection
 * dies, and then the next one is the oldest. So the total stays under the budget plus one
 * message (the oldest may run over), plus at most one chunk per paused session.
 */

/** what a holder does to its session when it must stop or may go on reading */
export interface FlowControl {
  pause(): void
  resume(): void
}

export class MessageBudget {
  private used = 0
  /** holders with bytes, in the order of their first byte (Set iteration is insertion order) */
  private readonly holders = new Set<BudgetHold>()
  private readonly paused = new Set<BudgetHold>()

  constructor(readonly limit: number) {}

  /** bytes held now, across all sessions */
  get bytes(): number {
    return this.used
  }

  /** a hold for one message; `flow` pauses and resumes its session */
  hold(flow: FlowControl): BudgetHold {
    return new BudgetHold(this, flow)
  }

  /** @internal counts bytes taken by `hold`; true when it must pause */
  take(hold: BudgetHold, n: number): boolean {
    this.holders.add(hold)
    this.used += n
    if (this.used <= this.limit || this.isOldest(hold)) return false
    this.paused.add(hold)
    return true
  }

  /** @internal gives back `n` bytes of `hold`, which holds nothing any more */
  release(hold: BudgetHold, n: number): void {
    this.used -= n
    this.holders.delete(hold)
    this.paused.delete(hold)
    for (const waiting of this.paused) {
      if (this.used > this.limit && !this.isOldest(waiting)) continue
      this.paused.delete(waiting)
      waiting.flow.resume()
    }
  }

  private isOldest(hold: BudgetHold): boolean {
    return this.holders.values().next().value === hold
  }
}

/** the bytes one message holds in a MessageBudget */
export class BudgetHold {
  private held = 0
  private done = false

  constructor(
    private readonly budget: MessageBudget,
    readonly flow: FlowControl,
  ) {}

  /** counts `n` more bytes held; pauses the session when the budget is spent */
  take(n: number): void {
    if (this.done) return
    this.held += n
    if (this.budget.take(this, n)) this.flow.pause()
  }

  /** gives every byte back (the message is committed, refused or abandoned); idempotent */
  release(): void {
    if (this.done) return
    this.done = true
    this.budget.release(this, this.held)
    this.held = 0
  }
}
