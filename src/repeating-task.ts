/**
 * Housekeeping that runs again and again in the background (expired greylist entries, vacation
 * records, captured mail past its retention): one run at a time, the next an interval after the
 * previous one ends (never overlapping), the timer never keeping the process alive, and `stop`
 * waiting for a run under way so the store is not closed beneath it.
 */
export class RepeatingTask {
  private timer?: NodeJS.Timeout
  private running?: Promise<unknown>
  private stopped = false

  constructor(
    private readonly run: () => Promise<unknown>,
    /** read before each wait: a reload may change it */
    private readonly intervalMs: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  get stopping(): boolean {
    return this.stopped
  }

  /** the first run an interval from now */
  start(): void {
    this.stopped = false
    this.schedule()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.run()
        .catch(this.onError)
        .finally(() => this.schedule())
    }, this.intervalMs()).unref()
  }
}
