/** The commands with nothing to look up: CAPABILITY, NOOP, CHECK, LOGOUT, ID, NAMESPACE, ENABLE. */
import {VERSION} from '../../version.js'
import {capabilities} from '../capabilities.js'
import {str} from '../format.js'
import type {CommandHandler} from '../session.js'

const ANY = ['not-authenticated', 'authenticated', 'selected'] as const

export const CAPABILITY: CommandHandler = {
  states: [...ANY],
  async run(session, {args}) {
    args.end()
    session.write(`* CAPABILITY ${capabilities(session)}\r\n`)
  },
}

/** NOOP and CHECK: the usual way to poll, so they always look for changes (also those made by other processes) */
export const NOOP: CommandHandler = {
  states: [...ANY],
  async run(session, {args}) {
    args.end()
    if (session.selected) await session.catchUp(true, true)
  },
}

export const CHECK: CommandHandler = {states: ['selected'], run: NOOP.run}

export const LOGOUT: CommandHandler = {
  states: [...ANY],
  async run(session, {tag, args}) {
    args.end()
    session.write('* BYE Logging out\r\n')
    session.write(`${tag} OK LOGOUT completed\r\n`)
    session.state = 'logout'
    session.socket.uncork()
    session.socket.end()
    return null
  },
}

/** RFC 2971: the client's identification is logged; ours is short and has no host details */
export const ID: CommandHandler = {
  states: [...ANY],
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

export const NAMESPACE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    args.end()
    session.write('* NAMESPACE (("" "/")) NIL NIL\r\n')
  },
}

/** RFC 5161: no extension here needs enabling yet, so nothing is enabled (the reply lists none) */
export const ENABLE: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    if (!args.remaining) args.atom('capability')
    session.write('* ENABLED\r\n')
  },
}
