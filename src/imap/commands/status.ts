/** tag STATUS mailbox (items) (RFC 3501 §6.3.10, RFC 8438 STATUS=SIZE, RFC 9051 DELETED, RFC 9208 §4.2 DELETED-STORAGE) */
import {normalizeFolderName} from '../../mailstore/folder-rules.js'
import type {MailboxView} from '../../mailstore/mailbox-view.js'
import type {MailboxRecord, MessageRecord} from '../../store/records.js'
import {atomsOf} from '../args.js'
import {mailboxName} from '../format.js'
import {ParseError, type Node} from '../parser.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'
import {kibibytes} from './quota.js'

const STATUS_ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE', 'HIGHESTMODSEQ', 'DELETED', 'DELETED-STORAGE'])

const isDeleted = (r: MessageRecord) => r.flags.includes('\\Deleted')

export function statusItems(nodes: Node[]): string[] {
  const items = atomsOf(nodes, 'STATUS items').map((s) => s.toUpperCase())
  for (const item of items) if (!STATUS_ITEMS.has(item)) throw new ParseError(`Unknown STATUS item ${item.slice(0, 30)}`)
  if (!items.length) throw new ParseError('STATUS needs at least one item')
  return items
}

export async function statusLine(session: Session, folder: MailboxRecord, items: string[]): Promise<string> {
  const values: string[] = []
  // the folder's messages, read once and only for the items that count them
  let view: Promise<MailboxView> | undefined
  const records = async () => (await (view ??= session.bus.call('mailstore.view', {user: session.user!, mailboxId: folder.id}))).records
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
    else if (item === 'DELETED') value = (await records()).filter(isDeleted).length
    // what EXPUNGE would free, in the STORAGE resource's units (RFC 9208 §4.2.2)
    else if (item === 'DELETED-STORAGE') value = kibibytes((await records()).reduce((n, r) => (isDeleted(r) ? n + r.size : n), 0))
    else {
      const {firstRecent} = await session.bus.call('mailstore.claimRecent', {mailboxId: folder.id})
      value = firstRecent >= folder.uidNext ? 0 : (await records()).filter((r) => r.uid >= firstRecent).length
    }
    values.push(`${item} ${value}`)
  }
  return `* STATUS ${mailboxName(folder.name, session.names)} (${values.join(' ')})\r\n`
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
