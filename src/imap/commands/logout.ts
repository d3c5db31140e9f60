/** tag LOGOUT (RFC 3501 §6.1.3) */
import type {CommandHandler} from '../session.js'

export const LOGOUT: CommandHandler = {
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(session, {tag, args}) {
    args.end()
    session.write('* BYE Logging out\r\n')
    session.write(`${tag} OK LOGOUT completed\r\n`)
    session.end()
    return null
  },
}
