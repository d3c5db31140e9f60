/** tag RENAME existing new (RFC 3501 §6.3.5) */
import {INBOX, isInferior, normalizeFolderName} from '../../mailstore/folder-rules.js'
import type {CommandHandler} from '../session.js'

export const RENAME: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const from = args.mailbox('existing name')
    const to = args.mailbox('new name')
    args.end()
    const renamed = await session.bus.call('mailstore.renameFolder', {user: session.user!, from, to})
    const selected = session.selected
    const source = normalizeFolderName(from)
    if (selected?.mailboxId === renamed.id) selected.name = renamed.name
    // an inferior of the renamed folder moved with it (INBOX's do not: RFC 3501 §6.3.5)
    else if (selected && source !== INBOX && isInferior(selected.name, source)) selected.name = renamed.name + selected.name.slice(source.length)
  },
}
