/** What STORE, COPY, MOVE, FETCH and APPEND have in common: the messages a set names, flag lists, the read-only guard. */
import {ParseError, type Node} from './parser.js'
import {resolveCommandSet} from './sequence.js'
import {ImapError, type CommandContext, type Session} from './session.js'

/** the UIDs a command's sequence set names (`$` the saved search result), in ascending order */
export function targetUids(session: Session, ctx: CommandContext, what = 'sequence set'): number[] {
  const {uids, savedResult} = session.selected!
  return resolveCommandSet(ctx.args.atom(what), uids, ctx.uid, savedResult).indexes.map((i) => uids[i]!)
}

export function flagsFrom(nodes: Node[]): string[] {
  const flags: string[] = []
  for (const n of nodes) {
    if (n.type === 'list') flags.push(...flagsFrom(n.items))
    // flags go back out as atoms: printable ASCII without the atom-specials (RFC 3501 §9)
    else if (n.type === 'atom' && /^\\?[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/.test(n.value)) flags.push(n.value)
    else throw new ParseError('Bad flag')
  }
  return flags
}

export function readOnlyGuard(session: Session): void {
  if (session.selected!.readOnly) throw new ImapError('NO', 'The folder is open read-only', 'READ-ONLY')
}
