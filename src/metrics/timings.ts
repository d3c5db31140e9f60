/**
 * The two latency histograms, fed by hooks rather than events (a bus event per command or commit
 * would allocate): IMAP commands by name (from the one place sessions dispatch them,
 * src/imap/session.ts) and store commits (MailboxStore.observeCommits). The last commit's outcome
 * is kept for /healthz: a store whose commits fail is not healthy, until one succeeds again.
 */
import {Counter, Histogram, type Registry} from 'prom-client'
import type {CommitObserver} from '../store/backend.js'
import {childCache} from './events.js'

export interface Timings {
  imapCommandDone(command: string, seconds: number): void
  commitObserved: CommitObserver
  /** the last commit failed: why (undefined: it succeeded, or none yet) */
  readonly commitFailure: Error | undefined
}

export function timings(registry: Registry): Timings {
  const registers = [registry]
  const imap = new Histogram({
    name: 'mailbox_imap_command_duration_seconds',
    help: 'IMAP commands from read to tagged reply, by command (UID forms apart; IDLE left out)',
    labelNames: ['command'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  })
  const commits = new Histogram({
    name: 'mailbox_store_commit_duration_seconds',
    help: "store commits of the server's writes, from the write to its durable commit (LMDB: the wait for the group commit included)",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  })
  const failures = new Counter({name: 'mailbox_store_commit_failures_total', help: 'store commits that failed (disk full, I/O error, lost database connection)', registers})
  const byCommand = childCache((command) => imap.labels(command!))
  const state: Timings & {commitFailure: Error | undefined} = {
    commitFailure: undefined,
    imapCommandDone: (command, seconds) => byCommand(command).observe(seconds),
    commitObserved: (seconds, failed) => {
      commits.observe(seconds)
      if (failed) failures.inc()
      state.commitFailure = failed
    },
  }
  return state
}
