/**
 * NOTIFY (RFC 5465): what a session asked to hear about, parsed from `NOTIFY SET`, and which of
 * a user's folders each event group covers. The session keeps what changed since it last
 * reported — the folders whose messages changed, and the folder events (`folder.changed`: create,
 * delete, rename, (un)subscribe) in order — bounded: past the bound it says
 * `[NOTIFICATIONOVERFLOW]` and stops notifying (§5.8). It reports them with its other untagged
 * responses: `* LIST` for MailboxName and SubscriptionChange (§5.4, §5.5), then `* STATUS` for
 * message changes in other folders (§5.2, §5.3).
 *
 * AnnotationChange and the metadata events are refused with `[BADEVENT]`: this server has
 * neither annotations nor METADATA.
 */
import type {FolderEvent, FolderShape, MessageChangeKind} from '../bus.js'
import {isInferior, normalizeFolderName, SEPARATOR} from '../mailstore/folder-rules.js'
import type {MailboxRecord} from '../store/records.js'
import {Args} from './args.js'
import {FETCH, parseFetchItems} from './commands/fetch.js'
import {statusLine} from './commands/status.js'
import {compactSet, mailboxName} from './format.js'
import {ParseError, type Node} from './parser.js'
import {ImapError, type Session} from './session.js'

const MESSAGE_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange', 'AnnotationChange'] as const
const MAILBOX_EVENTS = ['MailboxName', 'SubscriptionChange', 'MailboxMetadataChange', 'ServerMetadataChange'] as const
/** what this server reports; NOTIFY naming another known event gets NO [BADEVENT (these)] (§5) */
export const SUPPORTED_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange']

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
      parseFetchItems({type: 'list', items: fetch}) // BAD now, as FETCH would answer them
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
export function groupFor(spec: NotifySpec, folder: Pick<MailboxRecord, 'name' | 'subscribed'>): EventGroup | undefined {
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

const EVENT_OF_KIND: Record<MessageChangeKind, string> = {new: 'MessageNew', expunge: 'MessageExpunge', flags: 'FlagChange'}

/** One session's NOTIFY: the folders changed since the last report, bounded by `limit`. */
export class Notifications {
  /** changed folders and what changed in each (null: not known, a change made by another node) */
  private readonly pending = new Map<number, Set<MessageChangeKind> | null>()
  /** folder events not reported yet, in order */
  private readonly named: FolderEvent[] = []
  private overflowed = false
  /** the last STATUS sent per folder: a change that alters none of its items is not reported */
  private readonly last = new Map<number, string>()

  constructor(
    readonly spec: NotifySpec,
    private readonly limit: number,
  ) {}

  /** a folder of the user changed (a bus event); `kinds`: what changed, when known */
  changed(mailboxId: number, kinds?: MessageChangeKind[]): void {
    if (this.overflowed) return
    const known = this.pending.get(mailboxId)
    if (!kinds || known === null) this.pending.set(mailboxId, null)
    else this.pending.set(mailboxId, new Set([...(known ?? []), ...kinds]))
    this.bound()
  }

  /** a folder of the user was created, deleted, renamed or (un)subscribed (a bus event) */
  folderEvent(event: FolderEvent): void {
    if (this.overflowed || !this.wants(event)) return
    this.named.push(event)
    this.bound()
  }

  /**
   * whether the first group covering the folder asks for this kind of event; a subscription
   * change matches the SUBSCRIBED filter either way: the folder was or is subscribed
   */
  private wants(event: FolderEvent): boolean {
    const subscription = event.kind === 'subscription'
    const group = groupFor(this.spec, {name: event.name, subscribed: subscription || event.subscribed})
    return group?.events.has(subscription ? 'SubscriptionChange' : 'MailboxName') ?? false
  }

  private bound(): void {
    if (this.pending.size + this.named.length <= this.limit) return
    this.overflowed = true
    this.pending.clear()
    this.named.length = 0
  }

  /** the SELECTED or SELECTED-DELAYED group (§6.1: one at most) */
  private get selectedGroup(): EventGroup | undefined {
    return this.spec.groups.find((g) => g.filter === 'SELECTED' || g.filter === 'SELECTED-DELAYED')
  }

  /** the selected folder's changes are pushed as they happen: its group asks for message events */
  get pushesSelected(): boolean {
    return (this.selectedGroup?.events.size ?? 0) > 0
  }

  /**
   * … with these: MessageExpunge with SELECTED only (SELECTED-DELAYED holds expunges for a
   * command that allows them, §6), FlagChange with either
   */
  pushes(event: 'MessageExpunge' | 'FlagChange'): boolean {
    const group = this.selectedGroup
    return (event === 'FlagChange' || group?.filter === 'SELECTED') && (group?.events.has(event) ?? false)
  }

  /**
   * MessageNew's fetch attributes (§5.1): after the EXISTS of new messages in the selected folder,
   * a FETCH of them as `UID FETCH` would answer (UID included; a body part without .PEEK sets
   * \Seen, as FETCH does).
   */
  async fetchArrivals(session: Session, uids: number[]): Promise<void> {
    const items = this.selectedGroup?.fetch
    if (!items) return
    const args = new Args([{type: 'atom', value: compactSet(uids)}, {type: 'list', items}], 'FETCH')
    await FETCH.run(session, {tag: '*', name: 'FETCH', args, uid: true})
  }

  get due(): boolean {
    return this.overflowed || this.pending.size > 0 || this.named.length > 0
  }

  /** every covered folder, now: NOTIFY SET STATUS (§3) */
  async all(session: Session): Promise<string[]> {
    const folders = await session.bus.call('mailstore.folders', {user: session.user!})
    return this.report(session, folders)
  }

  /**
   * The untagged responses due: STATUS of the changed folders the spec covers (the selected one
   * has its own responses), or, after an overflow, `* OK [NOTIFICATIONOVERFLOW]` — and then
   * `overflow` is set: the session acts as after NOTIFY NONE (§5.8).
   */
  async take(session: Session): Promise<{lines: string[]; overflow: boolean}> {
    if (this.overflowed) return {lines: ['* OK [NOTIFICATIONOVERFLOW] Too many changes to report; NOTIFY is off\r\n'], overflow: true}
    if (!this.due) return {lines: [], overflow: false}
    const changed = new Map(this.pending)
    this.pending.clear()
    const events = this.named.splice(0)
    const folders = await session.bus.call('mailstore.folders', {user: session.user!})
    const lists = events.map((e) => listLine(e, folders))
    return {lines: [...lists, ...(await this.report(session, folders.filter((f) => changed.has(f.id)), changed))], overflow: false}
  }

  /** STATUS of these folders: every covered one (`changed` absent: NOTIFY SET STATUS), or those where an event kind their group asks for happened */
  private async report(session: Session, folders: MailboxRecord[], changed?: Map<number, Set<MessageChangeKind> | null>): Promise<string[]> {
    const initial = !changed
    const lines: string[] = []
    for (const folder of folders) {
      if (folder.noselect || folder.id === session.selected?.mailboxId) continue
      const group = groupFor(this.spec, folder)
      if (!group?.events.size) continue
      const kinds = changed?.get(folder.id)
      if (kinds && ![...kinds].some((k) => group.events.has(EVENT_OF_KIND[k]))) continue
      const items = statusItems(group, session.condstore, false)
      const line = await statusLine(session, folder, items)
      if (this.last.get(folder.id) === line && !initial) continue
      this.last.set(folder.id, line)
      lines.push(initial ? await statusLine(session, folder, statusItems(group, session.condstore, true)) : line)
    }
    return lines
  }
}

/**
 * A folder event as NOTIFY reports it: `* LIST` with the folder's attributes after the change —
 * `\NonExistent` when it is gone (§5.4), `OLDNAME` after a rename (§5.4) — or after SUBSCRIBE
 * or UNSUBSCRIBE, its attributes now with `\Subscribed` or without (§5.5).
 */
function listLine(event: FolderEvent, folders: MailboxRecord[]): string {
  let folder: FolderShape | null | undefined
  if (event.kind === 'name') folder = event.folder
  else {
    const now = folders.find((f) => f.name === event.name)
    folder = now && {noselect: now.noselect === true, children: folders.some((f) => isInferior(f.name, now.name)), specialUse: now.specialUse}
  }
  const attrs = folder ? [...(folder.noselect ? ['\\Noselect'] : []), folder.children ? '\\HasChildren' : '\\HasNoChildren'] : ['\\NonExistent']
  if (event.kind === 'subscription' && event.subscribed) attrs.push('\\Subscribed')
  if (folder?.specialUse) attrs.push(folder.specialUse)
  const oldName = event.kind === 'name' && event.oldName ? ` ("OLDNAME" (${mailboxName(event.oldName)}))` : ''
  return `* LIST (${attrs.join(' ')}) "${SEPARATOR}" ${mailboxName(event.name)}${oldName}\r\n`
}
