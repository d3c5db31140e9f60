/**
 * SEARCH and UID SEARCH: every RFC 3501 search key (../search/keys.ts, ../search/matching.ts),
 * the ESEARCH result options `RETURN (MIN MAX ALL COUNT)` (RFC 4731), SAVE and `$` (RFC 5182)
 * and PARTIAL (RFC 9394) (../search/results.ts), UPDATE (CONTEXT=SEARCH, ../search/contexts.ts).
 */
import {findMessages, usesModseq} from '../search/matching.js'
import {esearchResponse, parseReturnOptions, readReturn, savedUids} from '../search/results.js'
import {parseCriteria} from '../search/keys.js'
import type {Node} from '../parser.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'

export {parseCriteria, type SearchKey} from '../search/keys.js'
export {findMessages, type Found} from '../search/matching.js'

/**
 * May `RETURN (UPDATE)` of a SEARCH or SORT make a live context? A tag already naming one is BAD (RFC 5267 §4.3);
 * past `maxSearchContexts` the client hears `NO [NOUPDATE "tag"]` and gets the other options.
 */
export function liveUpdate(session: Session, tag: string): boolean {
  const contexts = session.selected!.searchContexts
  if (contexts.has(tag)) throw new ImapError('BAD', 'Tag reuse')
  if (contexts.size < session.options.limits.maxSearchContexts) return true
  session.write(`* NO [NOUPDATE "${tag}"] Too many contexts\r\n`)
  return false
}

export const SEARCH: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, {tag, args, uid}) {
    const nodes: Node[] = []
    while (args.remaining) nodes.push(args.node('search key'))
    const read = readReturn(nodes)
    const rest = read.rest
    // RFC 9051 §6.4.4: a rev2 session always gets ESEARCH; no RETURN means ALL
    const options = read.options ?? (session.rev2 ? parseReturnOptions({type: 'list', items: []}) : undefined)
    const selected = session.selected!
    try {
      const key = parseCriteria(rest, false, session.utf8Accept)
      const update = options?.update && liveUpdate(session, tag)
      const found = await findMessages(session, key)
      if (!found) return
      const modseq = usesModseq(key)
      if (options) {
        if (options.save) selected.savedResult = savedUids(found, options)
        if (update) selected.searchContexts.add(tag, (s) => findMessages(s, key), uid, false, savedUids(found, {...options, all: true}))
        const line = esearchResponse(tag, uid, found, options, modseq)
        if (line) session.write(line)
        return
      }
      // with a MODSEQ key, the reply names the highest MODSEQ of the messages found (RFC 7162 §3.1.5)
      let highest = 0
      for (const f of found) if (f.record.modseq > highest) highest = f.record.modseq
      const numbers = found.map((f) => (uid ? f.record.uid : f.seq))
      session.write(`* SEARCH${numbers.length ? ' ' + numbers.join(' ') : ''}${modseq && found.length ? ` (MODSEQ ${highest})` : ''}\r\n`)
    } catch (err) {
      // a SEARCH ... RETURN (SAVE) that fails leaves $ empty (RFC 5182 §2.1)
      if (options?.save) selected.savedResult = []
      throw err
    }
  },
}
