/** tag DELETE mailbox (RFC 3501 §6.3.4) */
import type {CommandHandler} from '../session.js'

export const DELETE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const name = args.mailbox()
    args.end()
    const {mailboxId} = await session.bus.call('mailstore.deleteFolder', {user: session.user!, name})
    // deleting the selected folder unselects it, as Dovecot does (the client still gets its OK);
    // by id: the name it was selected under may have changed since (a parent's RENAME)
    if (session.selected?.mailboxId === mailboxId) session.select(undefined)
  },
}
