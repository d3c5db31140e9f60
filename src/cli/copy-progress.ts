/**
 * The progress of `mailbox store copy` on stderr: a line per kind of record (domains, users, …,
 * blobs with their bytes), rewritten in place on a terminal while that kind is copied, and its
 * final count always (so a log shows every area, the empty ones too).
 */
import {formatSize} from '../size.js'
import type {CopyProgress} from '../store/copy.js'
import {KIND_NAMES, KINDS, type Kind, type KindCounts} from '../store/transfer.js'
import {progressReporter, type Progress, type ProgressOptions} from './progress.js'

export interface CopyProgressDisplay {
  started(totals: KindCounts): void
  progress: CopyProgress
  /** the kinds not reported finished yet (those after the last one written) */
  finish(written: KindCounts): void
}

export function copyProgressDisplay(options: Omit<ProgressOptions, 'final'> = {}): CopyProgressDisplay {
  let totals: KindCounts | undefined
  /** KINDS before this index are reported finished */
  let next = 0
  const reporters = new Map<Kind, Progress>()
  const finished = new Set<Kind>()

  const report = (kind: Kind, written: KindCounts, last: boolean) => {
    if (finished.has(kind)) return
    let reporter = reporters.get(kind)
    if (!reporter) reporters.set(kind, (reporter = progressReporter(`copied ${KIND_NAMES[kind]}`, {...options, final: true})))
    const done = written[kind].count
    const total = last ? done : Math.max(totals?.[kind].count ?? 0, done)
    if (done >= total) finished.add(kind)
    reporter(done, total, kind === 'blob' ? `(${formatSize(written.blob.bytes)} of ${formatSize(Math.max(totals?.blob.bytes ?? 0, written.blob.bytes))})` : undefined)
  }

  return {
    started: (t) => (totals = t),
    progress: (written, _totals, current) => {
      const at = KINDS.indexOf(current)
      for (; next < at; next++) report(KINDS[next]!, written, true)
      report(current, written, false)
    },
    finish: (written) => {
      for (; next < KINDS.length; next++) report(KINDS[next]!, written, true)
    },
  }
}
