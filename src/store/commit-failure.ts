/**
 * lmdb-js 3.5.6 and a failed commit (disk full, a file size limit, an I/O error): it rejects the
 * promise of every write in the commit with `Commit failed (see commitError for details)`, whose
 * `commitError` is one more promise, rejected with the cause — and, depending on how the writes
 * were batched, one promise of its own that no caller holds. Unhandled, either ends the process
 * (Node's default for unhandled rejections), so one failed cache write, or one delivery on a full
 * disk, took the whole server down although the writer was told and handled it.
 *  - `settleCommitFailure` marks a writer's `commitError` handled (lmdb-js prints the cause);
 *  - `guardCommitFailures` logs the orphan; any other unhandled rejection still ends the process.
 */
import type {Logger} from '../log.js'

const COMMIT_FAILED = 'Commit failed (see commitError for details)'

export function isCommitFailure(reason: unknown): reason is Error & {commitError: Promise<unknown>} {
  return reason instanceof Error && reason.message === COMMIT_FAILED && (reason as {commitError?: unknown}).commitError instanceof Promise
}

/** for a write's `.catch`: rethrows the error with its `commitError` handled */
export function settleCommitFailure(err: unknown): never {
  if (isCommitFailure(err)) err.commitError.catch(() => {})
  throw err
}

/** installs the guard for this process; returns its removal */
export function guardCommitFailures(log: Logger): () => void {
  const onUnhandled = (reason: unknown): void => {
    if (!isCommitFailure(reason)) throw reason // as without the guard: an uncaught exception
    reason.commitError.catch((cause: unknown) => log.error({err: cause}, 'store commit failed'))
  }
  process.on('unhandledRejection', onUnhandled)
  return () => process.off('unhandledRejection', onUnhandled)
}
