/** tag LIST [(selection)] reference pattern(s) [RETURN (options)] (RFC 3501 §6.3.8, RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS) */
import {SEPARATOR} from '../../mailstore/folder-rules.js'
import type {MailboxRecord} from '../../store/records.js'
import {atomsOf, decodeName, stringOf, type Args} from '../args.js'
import {mailboxName} from '../format.js'
import {ParseError} from '../parser.js'
import {listPattern} from '../pattern.js'
import type {CommandHandler, Session} from '../session.js'
import {statusItems, statusLine} from './status.js'

function hasChildren(folders: MailboxRecord[], name: string): boolean {
  return folders.some((f) => f.name.startsWith(name + SEPARATOR))
}

export async function list(session: Session, args: Args, lsub: boolean): Promise<void> {
  let selection: string[] = []
  if (!lsub && args.peek()?.type === 'list') selection = atomsOf(args.list('selection options'), 'selection options').map((s) => s.toUpperCase())
  const reference = decodeName(args.astring('reference'), 'reference')
  const patternNode = args.node('mailbox pattern')
  const patterns = (patternNode.type === 'list' && !lsub ? patternNode.items : [patternNode]).map((n) => decodeName(stringOf(n, 'mailbox pattern'), 'mailbox pattern'))
  const returns: string[] = []
  let statusWanted: string[] | undefined
  if (!lsub && args.remaining) {
    if (args.atom('RETURN').toUpperCase() !== 'RETURN') throw new ParseError('LIST: expected RETURN')
    const options = args.list('return options')
    for (let i = 0; i < options.length; i++) {
      const o = options[i]!
      if (o.type !== 'atom') throw new ParseError('LIST: bad return option')
      const name = o.value.toUpperCase()
      if (name === 'STATUS') {
        const next = options[++i]
        if (next?.type !== 'list') throw new ParseError('LIST: RETURN STATUS needs a list of items')
        statusWanted = statusItems(next.items)
      } else {
        returns.push(name)
      }
    }
  }
  args.end()
  const cmd = lsub ? 'LSUB' : 'LIST'
  if (patterns.length === 1 && patterns[0] === '') {
    // the hierarchy delimiter query
    session.write(`* ${cmd} (\\Noselect) "${SEPARATOR}" ""\r\n`)
    return
  }
  const folders = await session.bus.call('mailstore.folders', {user: session.user!})
  const matchers = patterns.map((p) => listPattern(reference + p))
  const onlySubscribed = lsub || selection.includes('SUBSCRIBED')
  const onlySpecial = selection.includes('SPECIAL-USE')
  const showSubscribed = !lsub && (onlySubscribed || returns.includes('SUBSCRIBED'))
  for (const folder of folders) {
    if (!matchers.some((match) => match(folder.name))) continue
    if (onlySubscribed && !folder.subscribed) continue
    if (onlySpecial && !folder.specialUse) continue
    const attrs: string[] = []
    if (folder.noselect) attrs.push('\\Noselect')
    if (!lsub) attrs.push(hasChildren(folders, folder.name) ? '\\HasChildren' : '\\HasNoChildren')
    if (showSubscribed && folder.subscribed) attrs.push('\\Subscribed')
    if (folder.specialUse && !lsub) attrs.push(folder.specialUse)
    session.write(`* ${cmd} (${attrs.join(' ')}) "${SEPARATOR}" ${mailboxName(folder.name)}\r\n`)
    if (statusWanted && !folder.noselect) session.write(await statusLine(session, folder, statusWanted))
  }
}

export const LIST: CommandHandler = {states: ['authenticated', 'selected'], run: (session, {args}) => list(session, args, false)}
