/** tag RENAME existing new (RFC 3501 §6.3.5) */
import type {CommandHandler} from '../session.js'

export const RENAME: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const from = args.mailbox('existing name')
    const to = args.mailbox('new name')
    args.end()
    const renamed = await session.bus.call('mailstore.renameFolder', {user: session.user!, from, to})
    if (session.selected?.mailboxId === renamed.id) session.selected.name = renamed.name
  },
}
