/** Folder commands: LIST (with LIST-EXTENDED, SPECIAL-USE, LIST-STATUS), LSUB, SUBSCRIBE, UNSUBSCRIBE, CREATE, DELETE, RENAME, STATUS. */
import {normalizeFolderName, SEPARATOR} from '../../mailstore/folders.js'
import type {MailboxRecord} from '../../store/records.js'
import {atomsOf, decodeName, stringOf} from '../args.js'
import {mailboxName} from '../format.js'
import {ParseError, type Node} from '../parser.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'

const AUTHED = ['authenticated', 'selected'] as const

/** a LIST pattern as a regular expression: `*` matches anything, `%` anything but the separator */
export function patternToRegExp(pattern: string): RegExp {
  let source = ''
  for (const c of pattern) {
    if (c === '*') source += '.*'
    else if (c === '%') source += '[^/]*'
    else source += c.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')
  }
  // INBOX is case-insensitive (RFC 3501 §5.1): match it whatever case the client wrote
  source = source.replace(/^inbox(?=$|\\\/|\.\*|\[)/i, '(?:INBOX)')
  return new RegExp(`^${source}$`, 'u')
}

function hasChildren(folders: MailboxRecord[], name: string): boolean {
  return folders.some((f) => f.name.startsWith(name + SEPARATOR))
}

const STATUS_ITEMS = new Set(['MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'SIZE'])

function statusItems(nodes: Node[]): string[] {
  const items = atomsOf(nodes, 'STATUS items').map((s) => s.toUpperCase())
  for (const item of items) if (!STATUS_ITEMS.has(item)) throw new ParseError(`Unknown STATUS item ${item.slice(0, 30)}`)
  if (!items.length) throw new ParseError('STATUS needs at least one item')
  return items
}

async function statusLine(session: Session, folder: MailboxRecord, items: string[]): Promise<string> {
  const values: string[] = []
  for (const item of items) {
    let value: number
    if (item === 'MESSAGES') value = folder.messages
    else if (item === 'UIDNEXT') value = folder.uidNext
    else if (item === 'UIDVALIDITY') value = folder.uidValidity
    else if (item === 'UNSEEN') value = folder.unseen
    else if (item === 'SIZE') value = folder.size
    else {
      // uidNext 0 claims nothing: it only reads where \Recent starts
      const {firstRecent} = await session.bus.call('mailstore.claimRecent', {mailboxId: folder.id, uidNext: 0})
      value = firstRecent >= folder.uidNext ? 0 : (await session.bus.call('mailstore.view', {user: session.user!, mailboxId: folder.id})).records.filter((r) => r.uid >= firstRecent).length
    }
    values.push(`${item} ${value}`)
  }
  return `* STATUS ${mailboxName(folder.name)} (${values.join(' ')})\r\n`
}

async function list(session: Session, args: import('../args.js').Args, lsub: boolean): Promise<void> {
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
  const regexps = patterns.map((p) => patternToRegExp(reference + p))
  const onlySubscribed = lsub || selection.includes('SUBSCRIBED')
  const onlySpecial = selection.includes('SPECIAL-USE')
  const showSubscribed = !lsub && (onlySubscribed || returns.includes('SUBSCRIBED'))
  for (const folder of folders) {
    if (!regexps.some((r) => r.test(folder.name))) continue
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

export const LIST: CommandHandler = {states: [...AUTHED], run: (session, {args}) => list(session, args, false)}
export const LSUB: CommandHandler = {states: [...AUTHED], run: (session, {args}) => list(session, args, true)}

const subscribe = (subscribed: boolean): CommandHandler => ({
  states: [...AUTHED],
  async run(session, {args}) {
    const name = args.mailbox()
    args.end()
    await session.bus.call('mailstore.subscribe', {user: session.user!, name, subscribed})
  },
})
export const SUBSCRIBE = subscribe(true)
export const UNSUBSCRIBE = subscribe(false)

export const CREATE: CommandHandler = {
  states: [...AUTHED],
  async run(session, {args}) {
    const name = args.mailbox()
    let specialUse: string | undefined
    if (args.remaining) {
      // RFC 6154 CREATE-SPECIAL-USE: CREATE name (USE (\Sent))
      const opts = args.list('create options')
      const use = opts[1]
      if (opts[0]?.type === 'atom' && opts[0].value.toUpperCase() === 'USE' && use?.type === 'list') specialUse = atomsOf(use.items, 'USE')[0]
    }
    args.end()
    const allowed = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive']
    const canonical = specialUse ? allowed.find((a) => a.toLowerCase() === specialUse!.toLowerCase()) : undefined
    if (specialUse && !canonical) throw new ImapError('NO', `Unsupported special use ${specialUse}`, 'USEATTR')
    await session.bus.call('mailstore.createFolder', {user: session.user!, name, ...(canonical ? {specialUse: canonical as '\\Sent'} : {})})
  },
}

export const DELETE: CommandHandler = {
  states: [...AUTHED],
  async run(session, {args}) {
    const name = args.mailbox()
    args.end()
    await session.bus.call('mailstore.deleteFolder', {user: session.user!, name})
    // deleting the selected folder unselects it, as Dovecot does (the client still gets its OK)
    if (session.selected?.name === normalizeFolderName(name)) session.select(undefined)
  },
}

export const RENAME: CommandHandler = {
  states: [...AUTHED],
  async run(session, {args}) {
    const from = args.mailbox('existing name')
    const to = args.mailbox('new name')
    args.end()
    const renamed = await session.bus.call('mailstore.renameFolder', {user: session.user!, from, to})
    if (session.selected?.mailboxId === renamed.id) session.selected.name = renamed.name
  },
}

export const STATUS: CommandHandler = {
  states: [...AUTHED],
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
