/** tag COPY set mailbox (RFC 3501 §6.4.7) with [COPYUID] (RFC 4315); MOVE is the same with the sources expunged */
import {isMailboxError} from '../../errors.js'
import {compactSet} from '../format.js'
import {ImapError, type CommandHandler} from '../session.js'
import {readOnlyGuard, targetUids} from '../targets.js'

export const copy = (move: boolean): CommandHandler => ({
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
