/** tag NAMESPACE (RFC 2342): one personal namespace, no shared or other users' folders */
import type {CommandHandler} from '../session.js'

export const NAMESPACE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    args.end()
    session.write('* NAMESPACE (("" "/")) NIL NIL\r\n')
  },
}
