/** tag CREATE mailbox [(USE (\\Sent))] (RFC 3501 §6.3.3, RFC 6154 CREATE-SPECIAL-USE) */
import {atomsOf} from '../args.js'
import {ImapError, type CommandHandler} from '../session.js'

export const CREATE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const name = args.mailbox()
    let specialUse: string | undefined
    if (args.remaining) {
      // RFC 6154 CREATE-SPECIAL-USE: CREATE name (USE (\Sent))
      const opts = args.list('create options')
      const use = opts[1]
      if (opts[0]?.type === 'atom' && opts[0].value.toUpperCase() === 'USE' && use?.type === 'list') specialUse = atomsOf(use.items, 'USE')[0]
    }
    args.end()
    const allowed = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive']
    const canonical = specialUse ? allowed.find((a) => a.toLowerCase() === specialUse!.toLowerCase()) : undefined
    if (specialUse && !canonical) throw new ImapError('NO', `Unsupported special use ${specialUse}`, 'USEATTR')
    await session.bus.call('mailstore.createFolder', {user: session.user!, name, ...(canonical ? {specialUse: canonical as '\\Sent'} : {})})
  },
}
