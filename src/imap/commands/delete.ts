/** tag DELETE mailbox (RFC 3501 §6.3.4) */
import {normalizeFolderName} from '../../mailstore/folder-rules.js'
import type {CommandHandler} from '../session.js'

export const DELETE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const name = args.mailbox()
    args.end()
    await session.bus.call('mailstore.deleteFolder', {user: session.user!, name})
    // deleting the selected folder unselects it, as Dovecot does (the client still gets its OK)
    if (session.selected?.name === normalizeFolderName(name)) session.select(undefined)
  },
}
