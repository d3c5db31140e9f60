/** tag SUBSCRIBE mailbox (RFC 3501 §6.3.6) */
import type {CommandHandler} from '../session.js'

export const subscribe = (subscribed: boolean): CommandHandler => ({
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const name = args.mailbox()
    args.end()
    await session.bus.call('mailstore.subscribe', {user: session.user!, name, subscribed})
  },
})
export const SUBSCRIBE = subscribe(true)
