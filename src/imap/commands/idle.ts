/** tag IDLE … DONE (RFC 2177) */
import {ParseError} from '../parser.js'
import type {CommandHandler} from '../session.js'

export const IDLE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    args.end()
    const line = await session.idle()
    if (line === null) return null
    if (line.trim().toUpperCase() !== 'DONE') throw new ParseError('Expected DONE to end IDLE')
    return 'IDLE terminated'
  },
}
