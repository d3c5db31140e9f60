/** tag APPEND mailbox [(flags)] ["date-time"] literal (RFC 3501 §6.3.11) with [APPENDUID] (RFC 4315) */
import {isMailboxError} from '../../errors.js'
import {parseDateTime} from '../args.js'
import {ParseError} from '../parser.js'
import {ImapError, type CommandHandler} from '../session.js'
import {flagsFrom} from '../targets.js'

export const APPEND: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const folder = args.mailbox()
    let flags: string[] = []
    let internalDate: number | undefined
    if (args.peek()?.type === 'list') flags = flagsFrom(args.list('flags'))
    const maybeDate = args.peek()
    if (maybeDate?.type === 'string' && !maybeDate.bytes) {
      internalDate = parseDateTime(args.astring('date-time'))
    }
    const message = args.node('message literal')
    args.end()
    if (message.type !== 'string') throw new ParseError('APPEND: the message must be a literal')
    const raw = message.bytes ?? Buffer.from(message.value)
    if (!raw.length) throw new ImapError('NO', 'An empty message cannot be stored')
    try {
      const {uidValidity, uid} = await session.bus.call('mailstore.append', {user: session.user!, folder, raw, flags, ...(internalDate !== undefined ? {internalDate} : {})})
      return {code: `APPENDUID ${uidValidity} ${uid}`, text: 'APPEND completed'}
    } catch (err) {
      if (isMailboxError(err, 'not-found')) throw new ImapError('NO', `No folder ${JSON.stringify(folder)}`, 'TRYCREATE')
      throw err
    }
  },
}
