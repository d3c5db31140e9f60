/** tag STARTTLS (RFC 3501 §6.2.1) */
import {ImapError, type CommandHandler} from '../session.js'

export const STARTTLS: CommandHandler = {
  states: ['not-authenticated'],
  async run(session, {tag, args}) {
    args.end()
    if (session.secure || !session.options.tls) throw new ImapError('BAD', 'TLS is already active')
    session.write(`${tag} OK Begin TLS negotiation now\r\n`)
    await session.startTls()
    return null
  },
}
