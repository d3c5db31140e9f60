/**
 * tag APPEND mailbox 1*([(flags)] ["date-time"] message) (RFC 3501 §6.3.11, MULTIAPPEND RFC 3502)
 * with [APPENDUID uidvalidity uid-set] (RFC 4315). A message is a literal or literal8 (BINARY,
 * RFC 3516). All the messages of one command are stored in one transaction, or none: a bad date
 * is BAD before anything is stored, too many messages NO [LIMIT], a message over the size limit
 * NO [TOOBIG], a quota exceeded by them together NO [OVERQUOTA].
 */
import {isMailboxError} from '../../errors.js'
import {parseDateTime} from '../args.js'
import {compactSet} from '../format.js'
import {ParseError} from '../parser.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'
import {flagsFrom} from '../targets.js'
import type {Args} from '../args.js'

interface NewMessage {
  flags: string[]
  internalDate?: number
  raw: Buffer
}

/** one `[(flags)] ["date-time"] message` of the command */
function readMessage(args: Args): NewMessage {
  const flags = args.peek()?.type === 'list' ? flagsFrom(args.list('flags')) : []
  let internalDate: number | undefined
  const maybeDate = args.peek()
  if (maybeDate?.type === 'string' && !maybeDate.bytes) internalDate = parseDateTime(args.astring('date-time'))
  const message = args.node('message literal')
  if (message.type !== 'string' || !message.bytes) throw new ParseError('APPEND: the message must be a literal')
  return {flags, ...(internalDate !== undefined ? {internalDate} : {}), raw: message.bytes}
}

function checkLimits(session: Session, messages: NewMessage[]): void {
  const {maxAppendMessages, maxLiteralSize} = session.options.limits
  if (messages.length > maxAppendMessages) throw new ImapError('NO', `At most ${maxAppendMessages} messages in one APPEND`, 'LIMIT')
  for (const m of messages) {
    if (!m.raw.length) throw new ImapError('NO', 'An empty message cannot be stored')
    if (m.raw.length > maxLiteralSize) throw new ImapError('NO', `A message is larger than the limit (${maxLiteralSize} octets)`, 'TOOBIG')
  }
}

export const APPEND: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const folder = args.mailbox()
    const messages: NewMessage[] = []
    do messages.push(readMessage(args))
    while (args.remaining)
    checkLimits(session, messages)
    try {
      const {uidValidity, uids} = await session.bus.call('mailstore.append', {user: session.user!, folder, messages})
      return {code: `APPENDUID ${uidValidity} ${compactSet(uids)}`, text: 'APPEND completed'}
    } catch (err) {
      // the place for more detail on a refusal (QUOTA's untagged response on OVERQUOTA)
      if (isMailboxError(err, 'not-found')) throw new ImapError('NO', `No folder ${JSON.stringify(folder)}`, 'TRYCREATE')
      throw err
    }
  },
}
