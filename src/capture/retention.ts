/**
 * Retention of captured mail: a capture server of a CI system runs for months, and every test run
 * adds mail. In capture mode every mailbox's INBOX (capture mailboxes, and users added to read
 * them over IMAP/POP3: all captured mail lands there) keeps its newest `maxMessages` and nothing
 * that arrived more than `maxAgeMs` ago; 0 turns either limit off.
 *
 * - Oldest first by UID, which in a capture INBOX is arrival order; a message is older than the
 *   limit by its internal date (its arrival).
 * - Removal is `mailstore.expunge` by UID, as an IMAP EXPUNGE: blobs released (the matcher's
 *   `since_s` and `mailstore.blob` no longer find them), views updated, IMAP sessions told.
 * - Never stalls the protocols: at most `batch` messages per expunge (one commit), and a turn of
 *   the event loop between any two commits and between mailboxes. Runs never overlap; the first
 *   starts `intervalMs` after start, the next `intervalMs` after the previous ended (read at each
 *   run, so a reload applies).
 * - Several nodes on one PostgreSQL store each prune, unco-ordinated: an expunge names its UIDs
 *   and removes those still there, so two nodes removing the same oldest messages remove them
 *   once. Each batch reads the oldest messages first and the folder's count after them: an
 *   expunge of another node's that the count does not show yet cannot show in the oldest read
 *   before it either (reads see commits in order), so what a batch takes as over the count is
 *   over it still (UIDs only grow), and pruning at once never removes more than one pruner would.
 */
import {setImmediate as nextTurn} from 'node:timers/promises'
import type {Actor, Bus} from '../bus.js'
import {isMailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import {RepeatingTask} from '../repeating-task.js'
import type {MailboxStore} from '../store/backend.js'
import type {MailboxRecord} from '../store/records.js'

/** config key `captureRetention` (capture mode only) */
export interface CaptureRetentionConfig {
  /** mail that arrived longer ago is removed; 0 = no age limit */
  maxAgeMs: number
  /** each mailbox keeps its newest this many; 0 = no count limit */
  maxMessages: number
  /** from the end of one pruning run to the start of the next */
  intervalMs: number
  /** messages one expunge (one commit) removes at most */
  batch: number
}

export const DEFAULT_CAPTURE_RETENTION: CaptureRetentionConfig = {
  maxAgeMs: 24 * 3600_000,
  maxMessages: 10_000,
  intervalMs: 60_000,
  batch: 100,
}

/** what one run removed */
export interface PruneReport {
  /** mailboxes that lost mail */
  mailboxes: number
  byAge: number
  byCount: number
  /** expunges (commits) it took */
  commits: number
}

export class CaptureRetention implements Actor {
  readonly name = 'capture-retention'
  private readonly runs: RepeatingTask

  constructor(
    private readonly bus: Bus,
    private readonly store: MailboxStore,
    private readonly log: Logger,
    /** read at each run: a reload assigns into it */
    private readonly config: CaptureRetentionConfig,
  ) {
    this.runs = new RepeatingTask(
      () => this.pruneOnce(),
      () => this.config.intervalMs,
      (err) => this.log.error({err}, 'captured mail could not be pruned'),
    )
  }

  /** the first run an interval after start: a start is busy enough (and a test can connect before it) */
  async start(): Promise<void> {
    this.runs.start()
  }

  async stop(): Promise<void> {
    await this.runs.stop()
  }

  private get stopping(): boolean {
    return this.runs.stopping
  }

  /** One run over every mailbox; what it removed is logged and returned. */
  async pruneOnce(now = Date.now()): Promise<PruneReport> {
    const report: PruneReport = {mailboxes: 0, byAge: 0, byCount: 0, commits: 0}
    const {maxAgeMs, maxMessages} = this.config
    if (maxAgeMs <= 0 && maxMessages <= 0) return report
    const arrivedBefore = maxAgeMs > 0 ? now - maxAgeMs : -Infinity
    for (const user of await this.store.directory.users()) {
      if (this.stopping) break
      const inbox = await this.store.mail.folder(user.address, 'INBOX')
      if (inbox && !inbox.noselect && inbox.messages > 0) {
        try {
          const removed = await this.pruneFolder(inbox, arrivedBefore, maxMessages, report)
          if (removed) this.log.debug({user: user.address, removed}, 'captured mail past its retention removed from a mailbox')
        } catch (err) {
          // deleted or recreated meanwhile (a user removed): the next run sees it as it is
          if (!isMailboxError(err)) throw err
          this.log.debug({err, user: user.address}, 'a mailbox changed while being pruned')
        }
      }
      await nextTurn()
    }
    if (report.commits) this.log.info({...report, maxAgeMs, maxMessages}, 'captured mail past its retention removed')
    return report
  }

  /** The oldest messages of one folder past the limits, `batch` per expunge; returns how many went. */
  private async pruneFolder(folder: MailboxRecord, arrivedBefore: number, maxMessages: number, report: PruneReport): Promise<number> {
    const overCount = maxMessages > 0 ? folder.messages - maxMessages : 0
    // within the count, the oldest message alone says whether any is past the age: a run over
    // many mailboxes reads one entry of each, not a batch
    if (overCount <= 0) {
      const [first] = await this.store.mail.messages(folder.id, {limit: 1})
      if (!first || first.internalDate >= arrivedBefore) return 0
    }
    let removed = 0
    while (!this.stopping) {
      const batch = Math.max(1, this.config.batch)
      const oldest = await this.store.mail.messages(folder.id, {limit: batch})
      // the count now, read after the oldest (see the top of the file), not the one the run began with
      let over = maxMessages > 0 ? (await this.store.mail.folderById(folder.user, folder.id)).messages - maxMessages : 0
      const uids: number[] = []
      for (const m of oldest) {
        if (over > 0) {
          over--
          report.byCount++
        } else if (m.internalDate < arrivedBefore) report.byAge++
        else break
        uids.push(m.uid)
      }
      if (!uids.length) break
      await this.bus.call('mailstore.expunge', {user: folder.user, mailboxId: folder.id, uids, onlyDeleted: false})
      if (!removed) report.mailboxes++
      removed += uids.length
      report.commits++
      if (uids.length < batch) break
      await nextTurn()
    }
    return removed
  }
}
