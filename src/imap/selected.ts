/**
 * A session's selected folder: its own message sequence numbers (RFC 3501 §2.3.1.2), which only
 * move when this session is told about a change. Other sessions' changes reach it as a new
 * folder view; `catchUp` compares that view with what the client knows and writes the untagged
 * EXPUNGE / EXISTS / RECENT / FETCH FLAGS responses that bring the client along.
 *
 * Rules kept here (each one a client trap):
 * - EXPUNGE is not sent while answering FETCH, STORE or SEARCH (RFC 3501 §7.4.1): until then the
 *   expunged messages keep their sequence numbers as ghosts.
 * - EXISTS is sent only when messages were added: never `* 0 EXISTS` after an expunge emptied
 *   the folder (Apple Mail loops on it).
 * - Flag changes this session made itself are not echoed back.
 */
import type {MailboxView} from '../mailstore/mailbox-view.js'
import {indexOfUid, summaryOf} from '../mailstore/mailbox-view.js'
import type {MessageRecord} from '../store/records.js'
import {compactSet, flagList} from './format.js'
import {SearchContexts} from './search/contexts.js'
import {lowerBound} from './sequence.js'

export class SelectedMailbox {
  /** UIDs by sequence number - 1; never changed in place, as it starts out shared with the folder view */
  uids: readonly number[]
  /** the HIGHESTMODSEQ the client is up to date with */
  private knownModseq: number
  /** MODSEQs this session produced itself (its own STOREs), not to be reported back */
  private readonly ownModseqs = new Set<number>()
  /** \Recent is per session: the UID ranges [from, to) this session claimed first */
  private readonly recent: [number, number][] = []
  /** a change was announced for this folder since the last catch-up */
  dirty = false
  /** CONDSTORE is on for the session: flag updates carry MODSEQ (RFC 7162 §3.1.4) */
  showModseq = false
  /** QRESYNC is on: expunges are reported as `* VANISHED uids` instead of EXPUNGE (RFC 7162 §3.2.10) */
  vanished = false
  /** RFC 9051 has no RECENT response: false for an IMAP4rev2 session */
  reportRecent = true
  /**
   * `$`, the last `SEARCH RETURN (SAVE)` result (RFC 5182), as ascending UIDs: empty on SELECT,
   * and an expunged message drops out of it as `uids` loses it (see `resolveCommandSet`)
   */
  savedResult: readonly number[] = []
  /** live `SEARCH RETURN (UPDATE)` results (RFC 5267), ended with the selection */
  readonly searchContexts = new SearchContexts()

  constructor(
    readonly mailboxId: number,
    public name: string,
    readonly uidValidity: number,
    readonly readOnly: boolean,
    view: MailboxView,
    recent?: [number, number],
  ) {
    this.uids = summaryOf(view).uids
    this.knownModseq = view.folder.highestModseq
    if (recent) this.addRecent(recent)
  }

  get exists(): number {
    return this.uids.length
  }

  private addRecent([from, to]: [number, number]): void {
    if (to <= from) return
    // claims follow each other (the next starts at the last one's end): one range, not one per delivery
    const last = this.recent.at(-1)
    if (last && last[1] === from) last[1] = to
    else this.recent.push([from, to])
  }

  isRecent(uid: number): boolean {
    return this.recent.some(([a, b]) => uid >= a && uid < b)
  }

  get recentCount(): number {
    if (!this.recent.length) return 0
    let lowest = Infinity
    for (const [a] of this.recent) if (a < lowest) lowest = a
    let n = 0
    for (let i = this.uids.length - 1; i >= 0 && this.uids[i]! >= lowest; i--) if (this.isRecent(this.uids[i]!)) n++
    return n
  }

  /** flags as the client sees them: stored flags plus \Recent */
  flagsOf(record: MessageRecord): string {
    return flagList(this.isRecent(record.uid) ? [...record.flags, '\\Recent'] : record.flags)
  }

  /** the untagged FETCH that tells the client a message's flags */
  flagsUpdate(seq: number, record: MessageRecord): string {
    return `* ${seq} FETCH (UID ${record.uid} FLAGS ${this.flagsOf(record)}${this.showModseq ? ` MODSEQ (${record.modseq})` : ''})\r\n`
  }

  noteOwnChange(records: MessageRecord[]): void {
    for (const r of records) this.ownModseqs.add(r.modseq)
  }

  /** Removes the given UIDs (an expunge this session reports itself, e.g. MOVE) and returns the EXPUNGE (or VANISHED) lines. */
  expunge(gone: Set<number>): string[] {
    // live searches hear of the expunged messages while their numbers still stand (RFC 5267 §4.3.4)
    const lines = this.searchContexts.expunging(gone, (uid) => this.seqOf(uid))
    const kept: number[] = []
    const removed: number[] = []
    for (let i = 0; i < this.uids.length; i++) {
      const uid = this.uids[i]!
      if (!gone.has(uid)) kept.push(uid)
      else if (this.vanished) removed.push(uid)
      else lines.push(`* ${kept.length + 1} EXPUNGE\r\n`)
    }
    this.uids = kept
    if (removed.length) lines.push(`* VANISHED ${compactSet(removed)}\r\n`)
    return lines
  }

  /**
   * Brings the client up to date with `view`. `allowExpunge` is false while answering FETCH,
   * STORE and SEARCH. `recent` is the UID range this session claimed as \Recent with this view.
   * `flags` false holds flag changes back (a NOTIFY push without FlagChange) for the next command.
   */
  catchUp(view: MailboxView, allowExpunge: boolean, recent?: [number, number], flags = true): string[] {
    const lines: string[] = []
    const records = view.records
    let last = this.uids.length ? this.uids[this.uids.length - 1]! : 0
    let added = 0
    for (let i = records.length - 1; i >= 0 && records[i]!.uid > last; i--) added++
    // UIDs only grow, so every record up to `last` is one the client knows: the difference in
    // counts is the number of expunges, and a folder without any needs no scan
    const expunges = this.uids.length > records.length - added
    if (allowExpunge && expunges) {
      const gone = new Set<number>()
      for (const uid of this.uids) if (indexOfUid(records, uid) < 0) gone.add(uid)
      lines.push(...this.expunge(gone))
      last = this.uids.length ? this.uids[this.uids.length - 1]! : 0
      added = 0
      for (let i = records.length - 1; i >= 0 && records[i]!.uid > last; i--) added++
    }
    if (added) {
      this.uids = this.uids.concat(records.slice(records.length - added).map((r) => r.uid))
      lines.push(`* ${this.uids.length} EXISTS\r\n`)
      if (recent) this.addRecent(recent)
      if (this.reportRecent) lines.push(`* ${this.recentCount} RECENT\r\n`)
    }
    const flagsHeld = !flags && view.folder.highestModseq > this.knownModseq
    if (view.folder.highestModseq > this.knownModseq && flags) {
      for (const r of records) {
        if (r.modseq <= this.knownModseq || r.uid > last || this.ownModseqs.has(r.modseq)) continue
        const i = this.seqOf(r.uid)
        if (i) lines.push(this.flagsUpdate(i, r))
      }
      this.knownModseq = view.folder.highestModseq
      this.ownModseqs.clear()
    }
    // expunges held back now must go out with the next command that allows them, or in IDLE
    this.dirty = (expunges && !allowExpunge) || flagsHeld
    return lines
  }

  /** sequence number of a UID, 0 when the client does not know it */
  seqOf(uid: number): number {
    const i = lowerBound(this.uids, uid)
    return this.uids[i] === uid ? i + 1 : 0
  }
}
