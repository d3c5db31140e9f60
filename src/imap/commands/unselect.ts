/** tag UNSELECT (RFC 3691) */
import type {CommandHandler} from '../session.js'

export const UNSELECT: CommandHandler = {
  states: ['selected'],
  async run(session, {args}) {
    args.end()
    session.select(undefined)
  },
}
