/** tag EXPUNGE (RFC 3501 §6.4.3) and tag UID EXPUNGE set (RFC 4315) */
import {targetUids} from '../targets.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'

export async function expungeDeleted(session: Session, uids?: number[]): Promise<void> {
  const selected = session.selected!
  if (selected.readOnly) throw new ImapError('NO', 'The folder is open read-only', 'READ-ONLY')
  await session.bus.call('mailstore.expunge', {user: session.user!, mailboxId: selected.mailboxId, onlyDeleted: true, ...(uids ? {uids} : {})})
}

export const EXPUNGE: CommandHandler = {
  states: ['selected'],
  async run(session, ctx) {
    const {args, uid} = ctx
    let uids: number[] | undefined
    if (uid) uids = targetUids(session, ctx, 'UID set')
    args.end()
    // the EXPUNGE responses come from the catch-up that follows every command
    if (!uids || uids.length) await expungeDeleted(session, uids)
  },
}
