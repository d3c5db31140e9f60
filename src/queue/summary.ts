/**
 * The queue's shape, after Postfix's qshape: entries waiting to be delivered (queued, sending,
 * deferred; held ones are set aside and not counted) by destination domain and by age (since
 * they were accepted), in buckets that double: 0-5 minutes, 5-10, 10-20, … 640-1280, older.
 */
import type {QueueStore} from '../store/backend.js'
import type {QueueState} from '../store/records.js'

/** upper bounds of the age buckets in minutes; a last bucket takes everything older */
export const AGE_BUCKETS_MIN = [5, 10, 20, 40, 80, 160, 320, 640, 1280]
export const AGE_LABELS = [...AGE_BUCKETS_MIN.map((m, i) => `${i ? AGE_BUCKETS_MIN[i - 1] : 0}-${m}m`), `${AGE_BUCKETS_MIN.at(-1)}m+`]
const WAITING: QueueState[] = ['queued', 'sending', 'deferred']

export interface ShapeRow {
  domain: string
  total: number
  /** one count per AGE_LABELS bucket */
  ages: number[]
}

export interface QueueShape {
  buckets: string[]
  /** busiest domain first */
  domains: ShapeRow[]
  total: ShapeRow
}

export async function queueShape(queue: QueueStore, now = Date.now()): Promise<QueueShape> {
  const rows = new Map<string, ShapeRow>()
  const total: ShapeRow = {domain: 'TOTAL', total: 0, ages: AGE_LABELS.map(() => 0)}
  for (const state of WAITING) {
    for (const entry of await queue.entries(state)) {
      const minutes = Math.max(0, now - entry.createdAt) / 60_000
      let bucket = AGE_BUCKETS_MIN.findIndex((limit) => minutes < limit)
      if (bucket === -1) bucket = AGE_BUCKETS_MIN.length
      let row = rows.get(entry.domain)
      if (!row) rows.set(entry.domain, (row = {domain: entry.domain, total: 0, ages: AGE_LABELS.map(() => 0)}))
      for (const r of [row, total]) {
        r.total++
        r.ages[bucket]!++
      }
    }
  }
  const domains = [...rows.values()].sort((a, b) => b.total - a.total || a.domain.localeCompare(b.domain))
  return {buckets: AGE_LABELS, domains, total}
}
