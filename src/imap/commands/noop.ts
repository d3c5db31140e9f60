/** tag NOOP (RFC 3501 §6.1.2) */
import type {CommandHandler} from '../session.js'

/** NOOP and CHECK: the usual way to poll, so they always look for changes (also those made by other processes) */
export const NOOP: CommandHandler = {
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(session, {args}) {
    args.end()
    if (session.selected) await session.catchUp(true, true)
  },
}
