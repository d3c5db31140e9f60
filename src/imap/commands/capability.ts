/** tag CAPABILITY (RFC 3501 §6.1.1) */
import {capabilities} from '../capabilities.js'
import type {CommandHandler} from '../session.js'

export const CAPABILITY: CommandHandler = {
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(session, {args}) {
    args.end()
    session.write(`* CAPABILITY ${capabilities(session)}\r\n`)
  },
}
