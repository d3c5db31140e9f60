/** Per-second counts of what happened, over a sliding window, from the event stream. */
export const SERIES = {
  received: 'mail.received',
  delivered: 'queue.delivered',
  deferred: 'queue.deferred',
  bounced: 'queue.bounced',
} as const
export type Series = keyof typeof SERIES

export class Throughput {
  private readonly buckets: Record<Series, number[]>
  private start: number

  constructor(
    readonly seconds = 120,
    now = Date.now(),
  ) {
    this.start = Math.floor(now / 1000)
    this.buckets = {received: [], delivered: [], deferred: [], bounced: []}
    for (const k of Object.keys(this.buckets) as Series[]) this.buckets[k] = new Array(seconds).fill(0)
  }

  record(event: string, at = Date.now()): void {
    const series = (Object.keys(SERIES) as Series[]).find((k) => SERIES[k] === event)
    if (!series) return
    this.advance(at)
    const list = this.buckets[series]
    list[list.length - 1]!++
  }

  /** oldest first, one value per second, ending now */
  values(series: Series, now = Date.now()): number[] {
    this.advance(now)
    return [...this.buckets[series]]
  }

  total(series: Series, now = Date.now()): number {
    return this.values(series, now).reduce((a, b) => a + b, 0)
  }

  private advance(now: number): void {
    const second = Math.floor(now / 1000)
    const steps = Math.min(second - this.start, this.seconds)
    if (steps <= 0) return
    for (const list of Object.values(this.buckets)) {
      list.splice(0, steps)
      for (let i = 0; i < steps; i++) list.push(0)
    }
    this.start = second
  }
}
