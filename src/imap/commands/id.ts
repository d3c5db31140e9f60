/** tag ID ("name" "value" …) | NIL (RFC 2971) */
import {VERSION} from '../../version.js'
import {str} from '../format.js'
import type {CommandHandler} from '../session.js'

/** RFC 2971: the client's identification is logged; ours is short and has no host details */
export const ID: CommandHandler = {
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(session, {args}) {
    const n = args.node('client parameters')
    if (n.type === 'list') {
      const fields: Record<string, string> = {}
      for (let i = 0; i + 1 < n.items.length && i < 60; i += 2) {
        const k = n.items[i]!
        const v = n.items[i + 1]!
        if (k.type !== 'list' && v.type !== 'list' && k.type !== 'section' && v.type !== 'section') fields[k.value.slice(0, 64)] = v.value.slice(0, 256)
      }
      session.log.info({client: fields}, 'imap client id')
    }
    args.end()
    session.write(`* ID (${str('name')} ${str('mailbox')} ${str('version')} ${str(VERSION)})\r\n`)
  },
}
