/** tag STORE set [+|-]FLAGS[.SILENT] (flags) (RFC 3501 §6.4.6) */
import {indexOfUid} from '../../mailstore/mailbox-view.js'
import type {FlagMode} from '../../mailstore/message-ops.js'
import type {MessageRecord} from '../../store/records.js'
import {ParseError} from '../parser.js'
import type {CommandHandler} from '../session.js'
import {flagsFrom, readOnlyGuard, targetUids} from '../targets.js'

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
