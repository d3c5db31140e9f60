/**
 * Work that leaves temporary files (a backup being written, a restore being copied in) cleans them
 * up when it is interrupted (Ctrl-C, SIGTERM from a cron timeout), not only when it fails: while
 * it runs, SIGINT and SIGTERM run `cleanup` and end the process with the shell's code for the
 * signal (128 + its number). A SIGKILL cannot be caught: then the clearly named temporary stays.
 */
import {constants} from 'node:os'

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** installs the handlers; returns their removal, for when the work is over */
export function cleanupOnInterrupt(cleanup: () => void): () => void {
  const handler = (signal: (typeof SIGNALS)[number]) => {
    try {
      cleanup()
    } finally {
      process.exit(128 + constants.signals[signal])
    }
  }
  for (const s of SIGNALS) process.once(s, handler)
  return () => {
    for (const s of SIGNALS) process.removeListener(s, handler)
  }
}
