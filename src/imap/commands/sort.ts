/**
 * SORT and UID SORT (RFC 5256 §3, with RFC 5957's DISPLAYFROM/DISPLAYTO):
 * `SORT [RETURN (…)] (criteria) charset search-key…`. The search is SEARCH's own; the keys each
 * message is compared by come from the mailstore's sort-key cache, so no message is read twice.
 * With RETURN (ESORT, RFC 5267 §3.2) the answer is SEARCH's `* ESEARCH` over the messages in
 * sort order: MIN and MAX are the first and last sorted, ALL and PARTIAL (RFC 9394) list them in
 * sort order, SAVE keeps them as `$` (RFC 5182); UPDATE keeps the sorted result live
 * (CONTEXT=SORT, RFC 5267 §4, ../search/contexts.ts).
 */
import {parseSortCriteria, sortable, sortMessages, type SortCriterion, type Sortable} from '../sort/order.js'
import type {Node} from '../parser.js'
import type {CommandHandler, Session} from '../session.js'
import type {Args} from '../args.js'
import {esearchResponse, readReturn, savedUids} from '../search/results.js'
import {usesModseq} from '../search/matching.js'
import {findMessages, liveUpdate, parseCriteria, type SearchKey} from './search.js'

/** the rest of the command after SORT's criteria or THREAD's algorithm: `charset search-key…` */
export function readCriteria(args: Args, utf8Accept: boolean) {
  const nodes: Node[] = []
  while (args.remaining) nodes.push(args.node('search key'))
  return parseCriteria(nodes, true, utf8Accept)
}

/** the selected folder's messages matching `key`, each with its sort keys; undefined when the session closed meanwhile */
export async function matchingSortables(session: Session, key: SearchKey): Promise<Sortable[] | undefined> {
  const found = await findMessages(session, key)
  if (!found) return undefined
  // the keys of the whole folder view are cached with it: walk the found records along them
  const {records} = await session.bus.call('mailstore.view', {user: session.user!, mailboxId: session.selected!.mailboxId})
  const keys = await session.bus.call('mailstore.sortKeys', {records})
  const out = new Array<Sortable>(found.length)
  const missing: number[] = []
  for (let i = 0, r = 0; i < found.length; i++) {
    const f = found[i]!
    while (r < records.length && records[r]!.uid < f.record.uid) r++
    if (records[r] === f.record) out[i] = sortable(f.seq, f.record, keys[r]!)
    else missing.push(i) // the folder changed while the search ran
  }
  if (missing.length) {
    const more = await session.bus.call('mailstore.sortKeys', {records: missing.map((i) => found[i]!.record)})
    missing.forEach((i, k) => (out[i] = sortable(found[i]!.seq, found[i]!.record, more[k]!)))
  }
  return out
}

/** THREAD's messages: the rest of the command is `charset search-key…` */
export const sortables = (session: Session, args: Args): Promise<Sortable[] | undefined> => matchingSortables(session, readCriteria(args, session.utf8Accept))

/** the matching messages in sort order */
async function sorted(session: Session, key: SearchKey, criteria: SortCriterion[]): Promise<Sortable[] | undefined> {
  const messages = await matchingSortables(session, key)
  return messages && sortMessages(messages, criteria)
}

export const SORT: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, {tag, args, uid}) {
    const nodes: Node[] = []
    while (args.remaining) nodes.push(args.node('sort criteria or search key'))
    const {options, rest} = readReturn(nodes)
    const selected = session.selected!
    try {
      const criteria = parseSortCriteria(rest[0])
      const key = parseCriteria(rest.slice(1), true, session.utf8Accept)
      const update = options?.update && liveUpdate(session, tag)
      const messages = await sorted(session, key, criteria)
      if (!messages) return
      if (!options) {
        const numbers = messages.map((m) => (uid ? m.record.uid : m.seq))
        session.write(`* SORT${numbers.length ? ' ' + numbers.join(' ') : ''}\r\n`)
        return
      }
      if (options.save) selected.savedResult = savedUids(messages, options)
      const order = messages.map((m) => m.record.uid)
      if (update) selected.searchContexts.add(tag, (s) => sorted(s, key, criteria), uid, true, order)
      const line = esearchResponse(tag, uid, messages, options, usesModseq(key))
      if (line) session.write(line)
    } catch (err) {
      // a SORT ... RETURN (SAVE) that fails leaves $ empty, as SEARCH's does (RFC 5182 §2.1)
      if (options?.save) selected.savedResult = []
      throw err
    }
  },
}
