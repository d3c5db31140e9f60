/** tag CANCELUPDATE "tag" ... (RFC 5267 §4.3.5): ends live SEARCH and SORT RETURN (UPDATE) contexts */
import {ParseError} from '../parser.js'
import {ImapError, type CommandHandler} from '../session.js'

export const CANCELUPDATE: CommandHandler = {
  states: ['selected'],
  async run(session, {args}) {
    const tags: string[] = []
    while (args.remaining) {
      const n = args.node('tag')
      // command-select =/ "CANCELUPDATE" 1*(SP quoted)
      if (n.type !== 'string' || n.bytes) throw new ParseError('CANCELUPDATE takes quoted tags')
      tags.push(n.value)
    }
    if (!tags.length) throw new ParseError('CANCELUPDATE needs a tag')
    const contexts = session.selected!.searchContexts
    const unknown = tags.filter((t) => !contexts.has(t))
    if (unknown.length) throw new ImapError('NO', 'Unknown tag')
    for (const t of tags) contexts.cancel(t)
    return 'Updates cancelled'
  },
}
