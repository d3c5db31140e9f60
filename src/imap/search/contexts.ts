/**
 * CONTEXT=SEARCH (RFC 5267 §4.3): searches made with `RETURN (UPDATE)` stay live while the folder
 * is selected, and the client hears `* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (0 set)`
 * as messages arrive, leave or change (position 0: a SEARCH result is kept in mailbox order, as
 * Dovecot sends it). Removals of expunged messages go out before the EXPUNGE that renumbers them
 * (`expunging`); everything else after the catch-up's EXISTS and FETCH (`refresh`), so the
 * numbers are the ones the client knows.
 */
import {compactSet} from '../format.js'
import {lowerBound} from '../sequence.js'
import type {Session} from '../session.js'
import type {SearchKey} from './keys.js'
import {findMessages} from './matching.js'

interface Context {
  key: SearchKey
  uid: boolean
  /** the matching UIDs the client was told about, ascending */
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

  add(tag: string, key: SearchKey, uid: boolean, result: number[]): void {
    this.live.set(tag, {key, uid, result})
  }

  cancel(tag: string): boolean {
    return this.live.delete(tag)
  }

  /** REMOVEFROM lines for messages about to be expunged, numbered as before the EXPUNGE (`seqOf`) */
  expunging(gone: ReadonlySet<number>, seqOf: (uid: number) => number): string[] {
    const lines: string[] = []
    for (const [tag, c] of this.live) {
      const removed = c.result.filter((u) => gone.has(u))
      if (!removed.length) continue
      c.result = c.result.filter((u) => !gone.has(u))
      lines.push(`* ESEARCH (TAG "${tag}")${c.uid ? ' UID' : ''} REMOVEFROM (0 ${compactSet(removed.map((u) => (c.uid ? u : seqOf(u))))})\r\n`)
    }
    return lines
  }

  /** searches again after the folder changed and returns the updates (RFC 5267 §4.3.2) */
  async refresh(session: Session, view: unknown): Promise<string[]> {
    if (!this.live.size || view === this.seen) return []
    this.seen = view
    const lines: string[] = []
    for (const [tag, c] of this.live) {
      const found = await findMessages(session, c.key)
      if (!found || !this.live.has(tag)) continue
      const now = found.map((f) => f.record.uid)
      const seqOf = new Map(found.map((f) => [f.record.uid, f.seq]))
      const removed = c.result.filter((u) => !has(now, u))
      const added = now.filter((u) => !has(c.result, u))
      c.result = now
      let items = ''
      const numbers = (uids: number[]) => compactSet(c.uid ? uids : uids.map((u) => seqOf.get(u) ?? session.selected!.seqOf(u)))
      if (removed.length) items += ` REMOVEFROM (0 ${numbers(removed)})`
      if (added.length) items += ` ADDTO (0 ${numbers(added)})`
      if (items) lines.push(`* ESEARCH (TAG "${tag}")${c.uid ? ' UID' : ''}${items}\r\n`)
    }
    return lines
  }
}
