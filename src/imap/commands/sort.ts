/**
 * SORT and UID SORT (RFC 5256 §3, with RFC 5957's DISPLAYFROM/DISPLAYTO):
 * `SORT (criteria) charset search-key…`. The search is SEARCH's own; the keys each message is
 * compared by come from the mailstore's sort-key cache, so no message is read twice.
 */
import {parseSortCriteria, sortable, sortMessages, type Sortable} from '../sort/order.js'
import type {Node} from '../parser.js'
import type {CommandHandler, Session} from '../session.js'
import type {Args} from '../args.js'
import {findMessages, parseCriteria} from './search.js'

/** the rest of the command after SORT's criteria or THREAD's algorithm: `charset search-key…` */
export function readCriteria(args: Args, utf8Accept: boolean) {
  const nodes: Node[] = []
  while (args.remaining) nodes.push(args.node('search key'))
  return parseCriteria(nodes, true, utf8Accept)
}

/** the selected folder's messages matching the criteria, each with its sort keys; undefined when the session closed meanwhile */
export async function sortables(session: Session, args: Args): Promise<Sortable[] | undefined> {
  const found = await findMessages(session, readCriteria(args, session.utf8Accept))
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

export const SORT: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, {args, uid}) {
    const criteria = parseSortCriteria(args.node('sort criteria'))
    const messages = await sortables(session, args)
    if (!messages) return
    const numbers = sortMessages(messages, criteria).map((m) => (uid ? m.record.uid : m.seq))
    session.write(`* SORT${numbers.length ? ' ' + numbers.join(' ') : ''}\r\n`)
  },
}
