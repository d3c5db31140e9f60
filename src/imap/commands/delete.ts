/** tag DELETE mailbox (RFC 3501 §6.3.4, RFC 9051 §6.3.4) */
import {isMailboxError} from '../../errors.js'
import {INBOX, normalizeFolderName} from '../../mailstore/folder-rules.js'
import {ImapError, type CommandHandler} from '../session.js'

export const DELETE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const name = args.mailbox()
    args.end()
    let mailboxId: number
    try {
      ;({mailboxId} = await session.bus.call('mailstore.deleteFolder', {user: session.user!, name}))
    } catch (err) {
      // the store's one conflict besides INBOX: a \Noselect folder whose children are still there
      if (isMailboxError(err, 'conflict') && normalizeFolderName(name) !== INBOX) throw new ImapError('NO', err.message, 'HASCHILDREN')
      throw err
    }
    // deleting the selected folder unselects it, as Dovecot does (the client still gets its OK);
    // by id: the name it was selected under may have changed since (a parent's RENAME)
    if (session.selected?.mailboxId === mailboxId) session.select(undefined)
  },
}
