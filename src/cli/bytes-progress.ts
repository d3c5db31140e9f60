/**
 * The progress of `mailbox backup` and `restore` on stderr: bytes written of bytes expected, with
 * a bar (on a terminal the line is rewritten in place; in a log a line every few seconds).
 */
import {formatSize} from '../size.js'
import type {BytesProgress} from '../store/backup.js'
import {progressReporter, type ProgressOptions} from './progress.js'

const WIDTH = 24

export function bytesProgress(label: string, options: Omit<ProgressOptions, 'format'> = {}): BytesProgress {
  const report = progressReporter(label, {...options, format: formatSize})
  return (done, total) => {
    const share = total > 0 ? Math.min(done / total, 1) : 1
    const filled = Math.round(share * WIDTH)
    report(done, total, `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${Math.floor(share * 100)}%`)
  }
}
