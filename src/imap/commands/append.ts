/**
 * tag APPEND mailbox 1*([(flags)] ["date-time"] message) (RFC 3501 §6.3.11, MULTIAPPEND RFC 3502)
 * with [APPENDUID uidvalidity uid-set] (RFC 4315). A message is a literal, a literal8 (BINARY,
 * RFC 3516), `UTF8 (literal8)` (RFC 6855 §4) or `CATENATE (TEXT literal / URL url …)` (RFC 4469,
 * ../catenate.ts). All the messages of one command are stored in one transaction, or none: a bad
 * date is BAD before anything is stored, too many messages NO [LIMIT], a bad URL NO [BADURL], a
 * message over the size limit (or all of them over the command's) NO [TOOBIG], a quota exceeded
 * by them together NO [OVERQUOTA].
 */
import {isMailboxError} from '../../errors.js'
import {parseDateTime} from '../args.js'
import {assembleCatenate, parseCatenate, type CatenatePart} from '../catenate.js'
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

/** as read: the bytes, or the CATENATE parts to make them from */
type ReadMessage = Omit<NewMessage, 'raw'> & ({raw: Buffer} | {catenate: CatenatePart[]})

/** one `[(flags)] ["date-time"] message` of the command */
function readMessage(session: Session, args: Args): ReadMessage {
  const flags = args.peek()?.type === 'list' ? flagsFrom(args.list('flags')) : []
  let internalDate: number | undefined
  const maybeDate = args.peek()
  if (maybeDate?.type === 'string' && !maybeDate.bytes) internalDate = parseDateTime(args.astring('date-time'))
  const options = {flags, ...(internalDate !== undefined ? {internalDate} : {})}
  const message = args.node('message literal')
  if (message.type === 'atom' && message.value.toUpperCase() === 'CATENATE') return {...options, catenate: parseCatenate(args.list('CATENATE parts'))}
  if (message.type === 'atom' && message.value.toUpperCase() === 'UTF8') return {...options, raw: utf8Data(session, args)}
  if (message.type !== 'string' || !message.bytes) throw new ParseError('APPEND: the message must be a literal')
  return {...options, raw: message.bytes}
}

/**
 * RFC 6855 §4: `UTF8 (literal8)`, a message that may have UTF-8 header fields; only after ENABLE
 * UTF8=ACCEPT, and only as a literal8 (the grammar's `"UTF8" SP "(" literal8 ")"`).
 */
function utf8Data(session: Session, args: Args): Buffer {
  if (!session.utf8Accept) throw new ParseError('APPEND: UTF8 data needs ENABLE UTF8=ACCEPT first')
  const items = args.list('UTF8 data')
  const literal = items[0]
  if (items.length !== 1 || literal?.type !== 'string' || !literal.binary) throw new ParseError('APPEND: UTF8 data is one literal8: UTF8 (~{n}...)')
  return literal.bytes!
}

/** Each message's bytes (CATENATE ones assembled here), within the limits; nothing is stored yet. */
async function messagesOf(session: Session, read: ReadMessage[]): Promise<NewMessage[]> {
  const {maxAppendMessages, maxLiteralSize, maxAppendSize} = session.options.limits
  if (read.length > maxAppendMessages) throw new ImapError('NO', `At most ${maxAppendMessages} messages in one APPEND`, 'LIMIT')
  const messages: NewMessage[] = []
  let total = 0
  for (const m of read) {
    const raw = 'raw' in m ? m.raw : await assembleCatenate(session, m.catenate, Math.min(maxLiteralSize, maxAppendSize - total))
    if (!raw.length) throw new ImapError('NO', 'An empty message cannot be stored')
    if (raw.length > maxLiteralSize) throw new ImapError('NO', `A message is larger than the limit (${maxLiteralSize} octets)`, 'TOOBIG')
    total += raw.length
    if (total > maxAppendSize) throw new ImapError('NO', `The messages together are larger than the limit (${maxAppendSize} octets)`, 'TOOBIG')
    messages.push({flags: m.flags, ...(m.internalDate !== undefined ? {internalDate: m.internalDate} : {}), raw})
  }
  return messages
}

export const APPEND: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const folder = args.mailbox()
    const read: ReadMessage[] = []
    do read.push(readMessage(session, args))
    while (args.remaining)
    const messages = await messagesOf(session, read)
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
