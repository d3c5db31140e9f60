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
 * - A keyword the client was not told about is announced with FLAGS and PERMANENTFLAGS before
 *   any FETCH that shows it (RFC 3501 §7.2.6; `announceKeywords`), also to EXAMINE sessions.
 * - \Recent (RFC 3501 §2.3.2): a message is recent for the one read-write session told about it
 *   first (the mailstore's claims decide which); a read-only session sees the messages nobody has
 *   claimed yet as recent, as Dovecot does, without taking them from the next SELECT.
 */
import type {MailboxView} from '../mailstore/mailbox-view.js'
import {indexOfUid, summaryOf} from '../mailstore/mailbox-view.js'
import type {MessageRecord} from '../store/records.js'
import {compactSet, flagList} from './format.js'
import {SearchContexts} from './search/contexts.js'
import {lowerBound} from './sequence.js'

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft']

/** the FLAGS and PERMANENTFLAGS responses of a folder with these keywords (RFC 3501 §7.2.6, §7.1) */
export function flagsResponses(keywords: Iterable<string>, readOnly: boolean): string[] {
  const flags = [...SYSTEM_FLAGS, ...keywords]
  return [
    `* FLAGS ${flagList(flags)}\r\n`,
    readOnly ? '* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n' : `* OK [PERMANENTFLAGS ${flagList([...flags, '\\*'])}] Flags permitted\r\n`,
  ]
}

export class SelectedMailbox {
  /** UIDs by sequence number - 1; never changed in place, as it starts out shared with the folder view */
  uids: readonly number[]
  /** the HIGHESTMODSEQ the client is up to date with */
  private knownModseq: number
  /** MODSEQs this session produced itself (its own STOREs), not to be reported back */
  private readonly ownModseqs = new Set<number>()
  /** \Recent is per session: the UID ranges [from, to) recent for this session, ascending and apart */
  private readonly recent: [number, number][] = []
  /** the keywords of the last FLAGS response the client was sent (grown, never shrunk, while selected) */
  private readonly announced: Set<string>
  /** the view keyword set last compared with `announced`: the same set again has nothing new */
  private announcedFrom: ReadonlySet<string>
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
    this.announced = new Set(view.keywords)
    this.announcedFrom = view.keywords
    if (recent) this.addRecent(recent)
  }

  /** the FLAGS and PERMANENTFLAGS responses of SELECT and EXAMINE */
  flagsResponses(): string[] {
    return flagsResponses(this.announced, this.readOnly)
  }

  /**
   * FLAGS and PERMANENTFLAGS when `view` has keywords the client was not told about, else
   * nothing. Call it with the view whose records are about to be shown, before the first FETCH.
   */
  announceKeywords(view: MailboxView): string[] {
    if (view.keywords === this.announcedFrom) return []
    this.announcedFrom = view.keywords
    const before = this.announced.size
    for (const k of view.keywords) this.announced.add(k)
    return this.announced.size === before ? [] : this.flagsResponses()
  }

  get exists(): number {
    return this.uids.length
  }

  /**
   * Adds UIDs [from, to) as recent for this session. Only messages the client is being told about
   * now can become recent: the range starts above every UID it knew (a claim may reach lower,
   * e.g. after the claims of a folder were forgotten), so the ranges stay ascending.
   */
  private addRecent([from, to]: [number, number], knownBelow = 0): void {
    const last = this.recent.at(-1)
    from = Math.max(from, knownBelow + 1, last ? last[1] : 0)
    if (to <= from) return
    // claims follow each other (the next starts at the last one's end): one range, not one per delivery
    if (last && last[1] === from) last[1] = to
    else this.recent.push([from, to])
  }

  isRecent(uid: number): boolean {
    const {recent} = this
    // the last range whose start is at or below uid (binary search: a long session may hold many)
    let lo = 0
    let hi = recent.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (recent[mid]![0] <= uid) lo = mid + 1
      else hi = mid
    }
    return lo > 0 && uid < recent[lo - 1]![1]
  }

  get recentCount(): number {
    if (!this.recent.length) return 0
    const lowest = this.recent[0]![0]
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

  /**
   * Flag changes this session made, not to be reported back: when its reply showed the client
   * the new flags (`told`), or when nothing else changed in the folder since the client's last
   * catch-up (`modseqBefore`, the folder's MODSEQ before the commit, is the one it knows), so the
   * client works them out from what it asked for (.SILENT). Otherwise another session's change
   * to the same message may lie under this one, and the catch-up reports the message's flags.
   */
  noteOwnChange(records: MessageRecord[], how: {told: true} | {told: false; modseqBefore: number}): void {
    if (!how.told && how.modseqBefore > this.knownModseq) return
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
   * STORE and SEARCH. `recent` is the UID range recent for this session with this view: the
   * range it claimed (read-write) or found unclaimed (read-only). `flags` false holds flag
   * changes back (a NOTIFY push without FlagChange) for the next command.
   */
  catchUp(view: MailboxView, allowExpunge: boolean, recent?: [number, number], flags = true): string[] {
    // FLAGS first: a new message (EXISTS) or a flag change (FETCH) may show the new keyword
    const lines: string[] = this.announceKeywords(view)
    const records = view.records
    const knownBelow = this.uids.length ? this.uids[this.uids.length - 1]! : 0
    let last = knownBelow
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
      if (recent) this.addRecent(recent, knownBelow)
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
