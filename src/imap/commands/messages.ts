/** STORE, COPY, MOVE (RFC 6851) and APPEND, with UIDPLUS answers (RFC 4315: COPYUID, APPENDUID). */
import {isMailboxError} from '../../errors.js'
import type {FlagMode} from '../../mailstore/message-ops.js'
import {indexOfUid} from '../../mailstore/mailbox-view.js'
import type {MessageRecord} from '../../store/records.js'
import {parseDateTime} from '../args.js'
import {compactSet} from '../format.js'
import {ParseError, type Node} from '../parser.js'
import {parseSequenceSet, resolveSet} from '../sequence.js'
import {ImapError, type CommandContext, type CommandHandler, type Session} from '../session.js'

/** the UIDs a command's sequence set names, in ascending order */
export function targetUids(session: Session, ctx: CommandContext): number[] {
  const selected = session.selected!
  const ranges = parseSequenceSet(ctx.args.atom('sequence set'))
  return resolveSet(ranges, selected.uids, ctx.uid).map((i) => selected.uids[i]!)
}

function flagsFrom(nodes: Node[]): string[] {
  const flags: string[] = []
  for (const n of nodes) {
    if (n.type === 'list') flags.push(...flagsFrom(n.items))
    else if (n.type === 'atom' && /^\\?[^\s(){%*"\\\]]+$/.test(n.value)) flags.push(n.value)
    else throw new ParseError('Bad flag')
  }
  return flags
}

function readOnlyGuard(session: Session): void {
  if (session.selected!.readOnly) throw new ImapError('NO', 'The folder is open read-only', 'READ-ONLY')
}

export const STORE: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, ctx) {
    const selected = session.selected!
    const uids = targetUids(session, ctx)
    const item = ctx.args.atom('data item').toUpperCase()
    const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item)
    if (!m) throw new ParseError(`STORE: unknown data item ${item.slice(0, 30)}`)
    // a flag list (maybe empty) or at least one flag: a bare "STORE 1 FLAGS" must not clear all flags
    if (!ctx.args.remaining) throw new ParseError('STORE: missing flags')
    const flags: string[] = []
    while (ctx.args.remaining) flags.push(...flagsFrom([ctx.args.node('flags')]))
    readOnlyGuard(session)
    const mode: FlagMode = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'replace'
    if (!uids.length) return
    const {updated} = await session.bus.call('mailstore.setFlags', {user: session.user!, mailboxId: selected.mailboxId, uids, mode, flags})
    selected.noteOwnChange(updated)
    if (m[2]) return
    const byUid = new Map<number, MessageRecord>(updated.map((r) => [r.uid, r]))
    const {records} = await session.bus.call('mailstore.view', {user: session.user!, mailboxId: selected.mailboxId})
    for (const uid of uids) {
      const record = byUid.get(uid) ?? records[indexOfUid(records, uid)]
      const seq = selected.seqOf(uid)
      if (!record || !seq) continue
      session.write(`* ${seq} FETCH (FLAGS ${selected.flagsOf(record)}${ctx.uid ? ` UID ${uid}` : ''})\r\n`)
    }
  },
}

const copy = (move: boolean): CommandHandler => ({
  states: ['selected'],
  async run(session, ctx) {
    const selected = session.selected!
    const uids = targetUids(session, ctx)
    const to = ctx.args.mailbox('destination')
    ctx.args.end()
    if (move) readOnlyGuard(session)
    if (!uids.length) return
    let result
    try {
      result = await session.bus.call('mailstore.copy', {user: session.user!, mailboxId: selected.mailboxId, uids, to, move})
    } catch (err) {
      if (isMailboxError(err, 'not-found')) throw new ImapError('NO', `No folder ${JSON.stringify(to)}`, 'TRYCREATE')
      throw err
    }
    if (!result.pairs.length) return
    const code = `COPYUID ${result.uidValidity} ${compactSet(result.pairs.map((p) => p[0]))} ${compactSet(result.pairs.map((p) => p[1]))}`
    if (!move) return {code, text: `${ctx.uid ? 'UID ' : ''}COPY completed`}
    // MOVE: COPYUID comes untagged, before the EXPUNGE responses (RFC 6851 §4.3)
    session.write(`* OK [${code}] Moved\r\n`)
    for (const line of selected.expunge(new Set(result.pairs.map((p) => p[0])))) session.write(line)
  },
})

export const COPY = copy(false)
export const MOVE = copy(true)

export const APPEND: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const folder = args.mailbox()
    let flags: string[] = []
    let internalDate: number | undefined
    if (args.peek()?.type === 'list') flags = flagsFrom(args.list('flags'))
    const maybeDate = args.peek()
    if (maybeDate?.type === 'string' && !maybeDate.bytes) {
      internalDate = parseDateTime(args.astring('date-time'))
    }
    const message = args.node('message literal')
    args.end()
    if (message.type !== 'string') throw new ParseError('APPEND: the message must be a literal')
    const raw = message.bytes ?? Buffer.from(message.value)
    if (!raw.length) throw new ImapError('NO', 'An empty message cannot be stored')
    try {
      const {uidValidity, uid} = await session.bus.call('mailstore.append', {user: session.user!, folder, raw, flags, ...(internalDate !== undefined ? {internalDate} : {})})
      return {code: `APPENDUID ${uidValidity} ${uid}`, text: 'APPEND completed'}
    } catch (err) {
      if (isMailboxError(err, 'not-found')) throw new ImapError('NO', `No folder ${JSON.stringify(folder)}`, 'TRYCREATE')
      throw err
    }
  },
}
