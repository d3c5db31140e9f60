/**
 * tag STORE set [(UNCHANGEDSINCE modseq)] [+|-]FLAGS[.SILENT] (flags)
 * (RFC 3501 §6.4.6; the conditional form is CONDSTORE, RFC 7162 §3.1.3)
 */
import {indexOfUid} from '../../mailstore/mailbox-view.js'
import type {FlagMode} from '../../mailstore/flags.js'
import type {MessageRecord} from '../../store/records.js'
import {numberOf} from '../args.js'
import {compactSet} from '../format.js'
import {ParseError} from '../parser.js'
import type {CommandHandler} from '../session.js'
import {flagsFrom, readOnlyGuard, targetUids} from '../targets.js'

export const STORE: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, ctx) {
    const selected = session.selected!
    const uids = targetUids(session, ctx)
    let unchangedSince: number | undefined
    if (ctx.args.peek()?.type === 'list') {
      const modifiers = ctx.args.list('store modifiers')
      const name = modifiers[0]
      if (modifiers.length !== 2 || name?.type !== 'atom' || name.value.toUpperCase() !== 'UNCHANGEDSINCE') throw new ParseError('STORE: the only modifier is UNCHANGEDSINCE')
      unchangedSince = numberOf(modifiers[1], 'UNCHANGEDSINCE')
      session.enableCondstore()
    }
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
    const {updated, modified, modseqBefore} = await session.bus.call('mailstore.setFlags', {
      user: session.user!,
      mailboxId: selected.mailboxId,
      uids,
      mode,
      flags,
      ...(unchangedSince !== undefined ? {unchangedSince} : {}),
    })
    const silent = !!m[2]
    // without .SILENT the reply below shows the new flags; with it the client works them out
    selected.noteOwnChange(updated, silent ? {told: false, modseqBefore} : {told: true})
    const view = await session.bus.call('mailstore.view', {user: session.user!, mailboxId: selected.mailboxId})
    // a keyword new to the folder is announced before the FETCH that shows it (RFC 3501 §7.2.6),
    // and also for .SILENT, as Dovecot does: the client learns it with the STORE that made it
    for (const line of selected.announceKeywords(view)) session.write(line)
    if (silent && selected.showModseq) {
      // with CONDSTORE, .SILENT still reports the new MODSEQ of what changed (RFC 7162 §3.1.3)
      for (const r of updated) session.write(`* ${selected.seqOf(r.uid)} FETCH (UID ${r.uid} MODSEQ (${r.modseq}))\r\n`)
    } else if (!silent) {
      const byUid = new Map<number, MessageRecord>(updated.map((r) => [r.uid, r]))
      const {records} = view
      const skipped = new Set(modified)
      for (const uid of uids) {
        const record = byUid.get(uid) ?? records[indexOfUid(records, uid)]
        const seq = selected.seqOf(uid)
        if (!record || !seq || skipped.has(uid)) continue
        session.write(selected.showModseq ? selected.flagsUpdate(seq, record) : `* ${seq} FETCH (FLAGS ${selected.flagsOf(record)}${ctx.uid ? ` UID ${uid}` : ''})\r\n`)
      }
    }
    if (modified.length) {
      const numbers = ctx.uid ? modified : modified.map((uid) => selected.seqOf(uid)).filter(Boolean)
      return {code: `MODIFIED ${compactSet(numbers.sort((a, b) => a - b))}`, text: 'Conditional STORE failed for some messages'}
    }
  },
}
