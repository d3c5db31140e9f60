/** tag STATUS mailbox (items) (RFC 3501 §6.3.10, RFC 8438 STATUS=SIZE) */
import {normalizeFolderName} from '../../mailstore/folder-rules.js'
import type {MailboxRecord} from '../../store/records.js'
import {atomsOf} from '../args.js'
import {mailboxName} from '../format.js'
import {ParseError, type Node} from '../parser.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'

const STATUS_ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'HIGHESTMODSEQ'])

export function statusItems(nodes: Node[]): string[] {
  const items = atomsOf(nodes, 'STATUS items').map((s) => s.toUpperCase())
  for (const item of items) if (!STATUS_ITEMS.has(item)) throw new ParseError(`Unknown STATUS item ${item.slice(0, 30)}`)
  if (!items.length) throw new ParseError('STATUS needs at least one item')
  return items
}

export async function statusLine(session: Session, folder: MailboxRecord, items: string[]): Promise<string> {
  const values: string[] = []
  for (const item of items) {
    let value: number
    if (item === 'MESSAGES') value = folder.messages
    else if (item === 'UIDNEXT') value = folder.uidNext
    else if (item === 'UIDVALIDITY') value = folder.uidValidity
    else if (item === 'UNSEEN') value = folder.unseen
    else if (item === 'SIZE') value = folder.size
    else if (item === 'HIGHESTMODSEQ') {
      session.enableCondstore()
      value = folder.highestModseq
    }
    else {
      const {firstRecent} = await session.bus.call('mailstore.claimRecent', {mailboxId: folder.id})
      value = firstRecent >= folder.uidNext ? 0 : (await session.bus.call('mailstore.view', {user: session.user!, mailboxId: folder.id})).records.filter((r) => r.uid >= firstRecent).length
    }
    values.push(`${item} ${value}`)
  }
  return `* STATUS ${mailboxName(folder.name)} (${values.join(' ')})\r\n`
}

export const STATUS: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const name = args.mailbox()
    const items = statusItems(args.list('status items'))
    args.end()
    const folders = await session.bus.call('mailstore.folders', {user: session.user!})
    const canonical = normalizeFolderName(name)
    const folder = folders.find((f) => f.name === canonical)
    if (!folder || folder.noselect) throw new ImapError('NO', `No folder ${JSON.stringify(name)}`, 'NONEXISTENT')
    session.write(await statusLine(session, folder, items))
  },
}
