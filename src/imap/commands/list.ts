/**
 * tag LIST [(selection)] reference pattern(s) [RETURN (options)] (RFC 3501 §6.3.8, RFC 5258
 * LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS) and tag LSUB reference pattern
 * (RFC 3501 §6.3.9).
 *
 * Subscriptions are names, not folders: a subscribed name whose folder was deleted is still
 * listed (LIST (SUBSCRIBED) with `\NonExistent`, LSUB as it is). LSUB with `%` shows the parent
 * of a subscribed child as `\Noselect` when the parent itself is not subscribed; RECURSIVEMATCH
 * shows such parents with CHILDINFO ("SUBSCRIBED").
 */
import {byFolderOrder, parentsOf, SEPARATOR} from '../../mailstore/folder-rules.js'
import type {MailboxRecord} from '../../store/records.js'
import {atomsOf, decodeName, stringOf, type Args} from '../args.js'
import {mailboxName} from '../format.js'
import {ParseError} from '../parser.js'
import {listPattern} from '../pattern.js'
import type {CommandHandler, Session} from '../session.js'
import {statusItems, statusLine} from './status.js'

const SELECTION_OPTIONS = new Set(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'])
const RETURN_OPTIONS = new Set(['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE', 'STATUS'])

interface ListRequest {
  selection: Set<string>
  returns: Set<string>
  reference: string | undefined
  /** undefined: a pattern that is not valid modified UTF-7 (it matches nothing, as in Dovecot) */
  patterns: (string | undefined)[]
  status?: string[]
}

function parseRequest(args: Args, lsub: boolean): ListRequest {
  const selection = new Set<string>()
  if (!lsub && args.peek()?.type === 'list') {
    for (const option of atomsOf(args.list('selection options'), 'selection options').map((s) => s.toUpperCase())) {
      if (!SELECTION_OPTIONS.has(option)) throw new ParseError(`LIST: unknown selection option ${option.slice(0, 30)}`)
      selection.add(option)
    }
    // RFC 5258 §3: RECURSIVEMATCH modifies another selection option; REMOTE alone selects nothing it could modify
    if (selection.has('RECURSIVEMATCH') && !selection.has('SUBSCRIBED') && !selection.has('SPECIAL-USE')) {
      throw new ParseError('LIST: RECURSIVEMATCH needs a selection option such as SUBSCRIBED')
    }
  }
  const reference = decodeName(args.astring('reference'))
  const patternNode = args.node('mailbox pattern')
  const nodes = patternNode.type === 'list' && !lsub ? patternNode.items : [patternNode]
  if (!nodes.length) throw new ParseError('LIST: empty pattern list')
  const patterns = nodes.map((n) => decodeName(stringOf(n, 'mailbox pattern')))
  const returns = new Set<string>()
  let status: string[] | undefined
  if (!lsub && args.remaining) {
    if (args.atom('RETURN').toUpperCase() !== 'RETURN') throw new ParseError('LIST: expected RETURN')
    const options = args.list('return options')
    for (let i = 0; i < options.length; i++) {
      const o = options[i]!
      if (o.type !== 'atom') throw new ParseError('LIST: bad return option')
      const name = o.value.toUpperCase()
      if (!RETURN_OPTIONS.has(name)) throw new ParseError(`LIST: unknown return option ${name.slice(0, 30)}`)
      if (name === 'STATUS') {
        const next = options[++i]
        if (next?.type !== 'list') throw new ParseError('LIST: RETURN STATUS needs a list of items')
        status = statusItems(next.items)
      }
      returns.add(name)
    }
  }
  args.end()
  return {selection, returns, reference, patterns, ...(status ? {status} : {})}
}

/** One line to send: a name, and what is known of it. */
interface Entry {
  name: string
  folder?: MailboxRecord
  subscribed: boolean
  /** LSUB: a parent shown only for its subscribed children */
  parentOnly?: boolean
  /** RECURSIVEMATCH: a descendant outside the pattern is subscribed */
  childInfo?: boolean
}

export async function list(session: Session, args: Args, lsub: boolean): Promise<void> {
  const request = parseRequest(args, lsub)
  const cmd = lsub ? 'LSUB' : 'LIST'
  if (request.patterns.length === 1 && request.patterns[0] === '') {
    // the hierarchy delimiter query
    session.write(`* ${cmd} (\\Noselect) "${SEPARATOR}" ""\r\n`)
    return
  }
  const [folders, subscriptions] = await Promise.all([
    session.bus.call('mailstore.folders', {user: session.user!}),
    session.bus.call('mailstore.subscriptions', {user: session.user!}),
  ])
  const reference = request.reference
  const matchers = request.patterns.flatMap((p) => (p === undefined || reference === undefined ? [] : [listPattern(reference + p)]))
  const matches = (name: string) => matchers.some((match) => match(name))
  // LSUB shows a parent for its subscribed children only where a `%` stopped short of them (as Dovecot does)
  const percent = request.patterns.flatMap((p) => (p?.includes('%') && reference !== undefined ? [listPattern(reference + p)] : []))
  const parentMatches = lsub ? (name: string) => percent.some((match) => match(name)) : matches
  const subscribed = new Set(subscriptions)
  const byFolderName = new Map(folders.map((f) => [f.name, f]))
  // every name with an inferior folder, in one pass (not a scan of all folders per line)
  const parents = new Set(folders.flatMap((f) => parentsOf(f.name)))
  const entries = new Map<string, Entry>()
  const onlySubscribed = lsub || request.selection.has('SUBSCRIBED')

  if (onlySubscribed) {
    for (const name of subscribed) {
      if (matches(name)) entries.set(name, {name, folder: byFolderName.get(name), subscribed: true})
    }
    // a subscribed name the pattern does not reach still shows its matching parents: LSUB as
    // \Noselect (RFC 3501 §6.3.9), LIST RECURSIVEMATCH with CHILDINFO (RFC 5258 §3.5)
    if (lsub || request.selection.has('RECURSIVEMATCH')) {
      for (const name of subscribed) {
        if (matches(name)) continue
        for (const parent of parentsOf(name)) {
          if (!parentMatches(parent)) continue
          const entry = entries.get(parent)
          if (lsub) {
            if (!entry) entries.set(parent, {name: parent, subscribed: false, parentOnly: true})
          } else if (entry) entry.childInfo = true
          else entries.set(parent, {name: parent, folder: byFolderName.get(parent), subscribed: subscribed.has(parent), childInfo: true})
        }
      }
    }
  } else {
    for (const folder of folders) {
      if (!matches(folder.name)) continue
      if (request.selection.has('SPECIAL-USE') && !folder.specialUse) continue
      entries.set(folder.name, {name: folder.name, folder, subscribed: subscribed.has(folder.name)})
    }
  }

  const showSubscribed = !lsub && (request.selection.has('SUBSCRIBED') || request.returns.has('SUBSCRIBED'))
  // child attributes (RFC 5258 §4): on request, and always where no SUBSCRIBED selection asks for a bare answer
  const showChildren = !lsub && (request.returns.has('CHILDREN') || !request.selection.has('SUBSCRIBED'))
  for (const entry of [...entries.values()].sort(byFolderOrder)) {
    const {folder} = entry
    const attrs: string[] = []
    if (lsub) {
      if (entry.parentOnly || folder?.noselect) attrs.push('\\Noselect')
    } else {
      // in Dovecot's order (and the RFC 5258 examples'): subscription, existence, children, use
      if (showSubscribed && entry.subscribed) attrs.push('\\Subscribed')
      if (!folder) attrs.push('\\NonExistent')
      else if (folder.noselect) attrs.push('\\Noselect')
      if (showChildren) attrs.push(parents.has(entry.name) ? '\\HasChildren' : '\\HasNoChildren')
      if (folder?.specialUse) attrs.push(folder.specialUse)
    }
    const extended = entry.childInfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : ''
    session.write(`* ${cmd} (${attrs.join(' ')}) "${SEPARATOR}" ${mailboxName(entry.name)}${extended}\r\n`)
    if (request.status && folder && !folder.noselect) session.write(await statusLine(session, folder, request.status))
  }
}

export const LIST: CommandHandler = {states: ['authenticated', 'selected'], run: (session, {args}) => list(session, args, false)}
