/**
 * NOTIFY (RFC 5465): what a session asked to hear about, parsed from `NOTIFY SET`, and which of
 * a user's folders each event group covers. The session keeps the folders that changed since it
 * last reported (bounded: past the bound it says `[NOTIFICATIONOVERFLOW]` and stops notifying,
 * §5.8) and reports them as `* STATUS` lines (§5.2-5.4) with its other untagged responses.
 *
 * Not advertised yet: MailboxName and SubscriptionChange (`* LIST` on create, delete, rename,
 * (un)subscribe) need the mailstore actor to publish folder events, which it does not; they are
 * refused with `[BADEVENT]` like AnnotationChange and the metadata events.
 */
import {normalizeFolderName} from '../mailstore/folder-rules.js'
import type {MailboxRecord} from '../store/records.js'
import {Args} from './args.js'
import {statusLine} from './commands/status.js'
import {ParseError, type Node} from './parser.js'
import {ImapError, type Session} from './session.js'

const MESSAGE_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange', 'AnnotationChange'] as const
const MAILBOX_EVENTS = ['MailboxName', 'SubscriptionChange', 'MailboxMetadataChange', 'ServerMetadataChange'] as const
/** what this server reports; NOTIFY naming another known event gets NO [BADEVENT (these)] (§5) */
export const SUPPORTED_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange']

const FILTERS = ['SELECTED', 'SELECTED-DELAYED', 'INBOXES', 'PERSONAL', 'SUBSCRIBED', 'SUBTREE', 'MAILBOXES'] as const
type Filter = (typeof FILTERS)[number]

export interface EventGroup {
  filter: Filter
  /** SUBTREE / MAILBOXES: canonical folder names */
  names: string[]
  events: Set<string>
  /** MessageNew's fetch attributes (selected filters only) */
  fetch?: Node[]
}

export interface NotifySpec {
  /** `NOTIFY SET STATUS …`: send the current STATUS of every covered folder now (§3) */
  status: boolean
  groups: EventGroup[]
}

const canonicalEvent = new Map([...MESSAGE_EVENTS, ...MAILBOX_EVENTS].map((e) => [e.toUpperCase(), e as string]))

/** `NOTIFY NONE` → null; `NOTIFY SET …` → what it asks for, or BAD (syntax, §8) / NO [BADEVENT] */
export function parseNotify(args: Args): NotifySpec | null {
  const verb = args.atom('SET or NONE').toUpperCase()
  if (verb === 'NONE') {
    args.end()
    return null
  }
  if (verb !== 'SET') throw new ParseError('NOTIFY: expected SET or NONE')
  // status-indicator = SP "STATUS" (§8)
  const first = args.peek()
  const status = first?.type === 'atom' && first.value.toUpperCase() === 'STATUS'
  if (status) args.node('status indicator')
  const groups: EventGroup[] = []
  while (args.remaining) groups.push(eventGroup(args.list('event group')))
  if (!groups.length) throw new ParseError('NOTIFY SET needs at least one event group')
  // §6.1: one specifier for the selected mailbox at most
  if (groups.filter((g) => g.filter === 'SELECTED' || g.filter === 'SELECTED-DELAYED').length > 1) throw new ParseError('NOTIFY: only one SELECTED or SELECTED-DELAYED event group')
  const unsupported = groups.flatMap((g) => [...g.events]).filter((e) => !SUPPORTED_EVENTS.includes(e))
  if (unsupported.length) throw new ImapError('NO', `Unsupported event ${unsupported[0]}`, `BADEVENT (${SUPPORTED_EVENTS.join(' ')})`)
  return {status, groups}
}

function eventGroup(items: Node[]): EventGroup {
  const g = new Args(items, 'NOTIFY')
  const filter = g.atom('filter').toUpperCase() as Filter
  if (!FILTERS.includes(filter)) throw new ParseError(`NOTIFY: unknown filter ${filter.slice(0, 30)}`)
  let names: string[] = []
  if (filter === 'SUBTREE' || filter === 'MAILBOXES') {
    const n = g.node('mailboxes')
    names = (n.type === 'list' ? n.items : [n]).map((m) => normalizeFolderName(new Args([m], 'NOTIFY').mailbox()))
    if (!names.length) throw new ParseError('NOTIFY: an empty mailbox list')
  }
  const eventsNode = g.node('events')
  const events = new Set<string>()
  let fetch: Node[] | undefined
  if (eventsNode.type === 'atom' && eventsNode.value.toUpperCase() === 'NONE') {
    g.end()
    return {filter, names, events}
  }
  if (eventsNode.type !== 'list' || !eventsNode.items.length) throw new ParseError('NOTIFY: events must be a list or NONE')
  const list = eventsNode.items
  for (let i = 0; i < list.length; i++) {
    const n = list[i]!
    if (n.type !== 'atom') throw new ParseError('NOTIFY: an event must be an atom')
    const name = canonicalEvent.get(n.value.toUpperCase())
    if (!name) throw new ParseError(`NOTIFY: unknown event ${n.value.slice(0, 30)}`)
    events.add(name)
    if (name === 'MessageNew' && list[i + 1]?.type === 'list') {
      fetch = (list[++i] as {items: Node[]}).items
      // §5.1: fetch attributes make sense only where a message has a sequence number
      if (filter !== 'SELECTED' && filter !== 'SELECTED-DELAYED') throw new ParseError('NOTIFY: MessageNew fetch attributes only with SELECTED or SELECTED-DELAYED')
    }
  }
  g.end()
  // §5: MessageNew and MessageExpunge come together, and FlagChange/AnnotationChange need both
  const hasNew = events.has('MessageNew')
  if (hasNew !== events.has('MessageExpunge')) throw new ParseError('NOTIFY: MessageNew and MessageExpunge must be given together')
  if ((events.has('FlagChange') || events.has('AnnotationChange')) && !hasNew) throw new ParseError('NOTIFY: FlagChange needs MessageNew and MessageExpunge')
  // §6: mailbox events are about other mailboxes; the selected one only has message events
  if ((filter === 'SELECTED' || filter === 'SELECTED-DELAYED') && [...events].some((e) => (MAILBOX_EVENTS as readonly string[]).includes(e))) {
    throw new ParseError('NOTIFY: SELECTED takes message events only')
  }
  return {filter, names, events, ...(fetch ? {fetch} : {})}
}

/** the first event group (§6: the first one that matches counts) covering a folder other than the selected one */
export function groupFor(spec: NotifySpec, folder: MailboxRecord): EventGroup | undefined {
  return spec.groups.find((g) => {
    switch (g.filter) {
      case 'SELECTED':
      case 'SELECTED-DELAYED':
        return false
      // this server delivers only to INBOX: it is the one folder mail arrives in by itself
      case 'INBOXES':
        return folder.name === 'INBOX'
      case 'PERSONAL':
        return true
      case 'SUBSCRIBED':
        return folder.subscribed
      case 'MAILBOXES':
        return g.names.includes(folder.name)
      case 'SUBTREE':
        return g.names.some((n) => folder.name === n || folder.name.startsWith(`${n}/`))
    }
  })
}

/**
 * the STATUS items of a report: UIDNEXT and MESSAGES for new and expunged messages (§5.2, as its
 * example), UIDVALIDITY too in the first report of NOTIFY SET STATUS (§3); UNSEEN for flag
 * changes, with HIGHESTMODSEQ under CONDSTORE
 */
const statusItems = (group: EventGroup, condstore: boolean, initial: boolean): string[] => [
  'UIDNEXT',
  'MESSAGES',
  ...(initial ? ['UIDVALIDITY'] : []),
  ...(group.events.has('FlagChange') ? ['UNSEEN'] : []),
  ...(condstore && group.events.has('FlagChange') ? ['HIGHESTMODSEQ'] : []),
]

/** One session's NOTIFY: the folders changed since the last report, bounded by `limit`. */
export class Notifications {
  private readonly pending = new Set<number>()
  private overflowed = false
  /** the last STATUS sent per folder: a change that alters none of its items is not reported */
  private readonly last = new Map<number, string>()

  constructor(
    readonly spec: NotifySpec,
    private readonly limit: number,
  ) {}

  /** a folder of the user changed (a bus event) */
  changed(mailboxId: number): void {
    if (this.overflowed) return
    this.pending.add(mailboxId)
    if (this.pending.size > this.limit) {
      this.overflowed = true
      this.pending.clear()
    }
  }

  get due(): boolean {
    return this.overflowed || this.pending.size > 0
  }

  /** every covered folder, now: NOTIFY SET STATUS (§3) */
  async all(session: Session): Promise<string[]> {
    const folders = await session.bus.call('mailstore.folders', {user: session.user!})
    return this.report(session, folders, true)
  }

  /**
   * The untagged responses due: STATUS of the changed folders the spec covers (the selected one
   * has its own responses), or, after an overflow, `* OK [NOTIFICATIONOVERFLOW]` — and then
   * `overflow` is set: the session acts as after NOTIFY NONE (§5.8).
   */
  async take(session: Session): Promise<{lines: string[]; overflow: boolean}> {
    if (this.overflowed) return {lines: ['* OK [NOTIFICATIONOVERFLOW] Too many changes to report; NOTIFY is off\r\n'], overflow: true}
    if (!this.pending.size) return {lines: [], overflow: false}
    const ids = new Set(this.pending)
    this.pending.clear()
    const folders = await session.bus.call('mailstore.folders', {user: session.user!})
    return {lines: await this.report(session, folders.filter((f) => ids.has(f.id))), overflow: false}
  }

  private async report(session: Session, folders: MailboxRecord[], initial = false): Promise<string[]> {
    const lines: string[] = []
    for (const folder of folders) {
      if (folder.noselect || folder.id === session.selected?.mailboxId) continue
      const group = groupFor(this.spec, folder)
      if (!group?.events.size) continue
      const items = statusItems(group, session.condstore, false)
      const line = await statusLine(session, folder, items)
      if (this.last.get(folder.id) === line && !initial) continue
      this.last.set(folder.id, line)
      lines.push(initial ? await statusLine(session, folder, statusItems(group, session.condstore, true)) : line)
    }
    return lines
  }
}
