/**
 * Live results (RFC 5267 §4.3): searches made with `SEARCH RETURN (UPDATE)` (CONTEXT=SEARCH) and
 * `SORT RETURN (UPDATE)` (CONTEXT=SORT) stay live while the folder is selected, and the client
 * hears `* ESEARCH (TAG "t") [UID] REMOVEFROM (…) ADDTO (…)` as messages arrive, leave or change.
 * A SEARCH result is kept in mailbox order and reported at position 0, as Dovecot sends it; a
 * SORT result is kept in sort order and reported at real positions (../sort/updates.ts).
 * Removals of expunged messages go out before the EXPUNGE that renumbers them (`expunging`);
 * everything else after the catch-up's EXISTS and FETCH (`refresh`), so the numbers are the ones
 * the client knows. Both kinds share one map, so one tag names one context and one limit
 * (`imap.maxSearchContexts`) bounds them together.
 */
import {compactSet} from '../format.js'
import {lowerBound} from '../sequence.js'
import type {Session} from '../session.js'
import {formatOrderedUpdates, orderedUpdates} from '../sort/updates.js'
import type {Found} from './matching.js'

/** the messages of the live result, in result order; undefined when the session closed meanwhile */
export type FindResult = (session: Session) => Promise<Found[] | undefined>

interface Context {
  find: FindResult
  uid: boolean
  /** a SORT result: positions matter */
  ordered: boolean
  /** the UIDs the client was told about: ascending for SEARCH, in sort order for SORT */
  result: number[]
}

const has = (sorted: readonly number[], uid: number) => sorted[lowerBound(sorted, uid)] === uid

export class SearchContexts {
  private readonly live = new Map<string, Context>()
  /** the folder view the results were last computed against (views are replaced, never changed) */
  private seen: unknown

  get size(): number {
    return this.live.size
  }

  has(tag: string): boolean {
    return this.live.has(tag)
  }

  /** `result`: UIDs ascending for a SEARCH, in sort order for a SORT (`ordered`) */
  add(tag: string, find: FindResult, uid: boolean, ordered: boolean, result: number[]): void {
    this.live.set(tag, {find, uid, ordered, result})
  }

  cancel(tag: string): boolean {
    return this.live.delete(tag)
  }

  /** REMOVEFROM lines for messages about to be expunged, numbered as before the EXPUNGE (`seqOf`) */
  expunging(gone: ReadonlySet<number>, seqOf: (uid: number) => number): string[] {
    const lines: string[] = []
    for (const [tag, c] of this.live) {
      const kept = c.result.filter((u) => !gone.has(u))
      if (kept.length === c.result.length) continue
      const number = (u: number) => (c.uid ? u : seqOf(u))
      const items = c.ordered
        ? formatOrderedUpdates(orderedUpdates(c.result, kept), number)
        : ` REMOVEFROM (0 ${compactSet(c.result.filter((u) => gone.has(u)).map(number))})`
      c.result = kept
      lines.push(`* ESEARCH (TAG "${tag}")${c.uid ? ' UID' : ''}${items}\r\n`)
    }
    return lines
  }

  /** searches (sorts) again after the folder changed and returns the updates (RFC 5267 §4.3.2) */
  async refresh(session: Session, view: unknown): Promise<string[]> {
    if (!this.live.size || view === this.seen) return []
    this.seen = view
    const lines: string[] = []
    for (const [tag, c] of this.live) {
      const found = await c.find(session)
      if (!found || !this.live.has(tag)) continue
      const now = found.map((f) => f.record.uid)
      // the session's own numbers (expunges held back still count), as the search's were
      const selected = session.selected!
      const number = (u: number) => (c.uid ? u : selected.seqOf(u))
      let items = ''
      if (c.ordered) items = formatOrderedUpdates(orderedUpdates(c.result, now), number)
      else {
        const removed = c.result.filter((u) => !has(now, u))
        const added = now.filter((u) => !has(c.result, u))
        if (removed.length) items += ` REMOVEFROM (0 ${compactSet(removed.map(number))})`
        if (added.length) items += ` ADDTO (0 ${compactSet(added.map(number))})`
      }
      c.result = now
      if (items) lines.push(`* ESEARCH (TAG "${tag}")${c.uid ? ' UID' : ''}${items}\r\n`)
    }
    return lines
  }
}
