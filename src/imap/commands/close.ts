/** tag CLOSE (RFC 3501 §6.4.2) */
import type {CommandHandler} from '../session.js'
import {expungeDeleted} from './expunge.js'

export const CLOSE: CommandHandler = {
  states: ['selected'],
  async run(session, {args}) {
    args.end()
    // CLOSE expunges silently: no EXPUNGE responses
    if (!session.selected!.readOnly) await expungeDeleted(session)
    session.select(undefined)
  },
}
