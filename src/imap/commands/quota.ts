/**
 * tag GETQUOTA root, tag GETQUOTAROOT mailbox, tag SETQUOTA root (limits) (RFC 9208).
 *
 * Each user has one quota root, "" (all their folders), when `user add --quota` / `--max-messages`
 * or `user import` gave them a limit. Its resources are those the user has a limit on: STORAGE
 * (the quota, in KiB) and MESSAGE (the message limit, RFC 9208 §5.2), in that order, as Dovecot
 * lists them. A user without any limit has no quota root at all: GETQUOTAROOT lists none and
 * GETQUOTA "" is NO. The limit is the administrator's (the CLI), so
 * SETQUOTA is refused and QUOTASET is not advertised (RFC 9208 §4.1.3 lets a server refuse).
 */
import {normalizeFolderName} from '../../mailstore/folder-rules.js'
import {astr, str} from '../format.js'
import {ImapError, noFolderError, type CommandHandler, type Session} from '../session.js'

/** the one quota root of a user */
const ROOT = ''

/** RFC 9208 §3.2 counts STORAGE in units of 1024 octets; rounded up, as Dovecot 2.3 does */
export const kibibytes = (bytes: number): number => Math.ceil(bytes / 1024)

/** the user's `* QUOTA "" (…)` response, or undefined when they have no limit */
async function quotaResponse(session: Session): Promise<string | undefined> {
  const {limits, usage} = await session.bus.call('mailstore.quota', {user: session.user!})
  const resources = [
    ...(limits.quota ? [`STORAGE ${kibibytes(usage.size)} ${kibibytes(limits.quota)}`] : []),
    ...(limits.maxMessages ? [`MESSAGE ${usage.messages} ${limits.maxMessages}`] : []),
  ]
  if (!resources.length) return undefined
  return `* QUOTA ${str(ROOT)} (${resources.join(' ')})\r\n`
}

export const GETQUOTA: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const root = args.astring('quota root')
    args.end()
    const response = root === ROOT ? await quotaResponse(session) : undefined
    if (!response) throw new ImapError('NO', `No quota root ${JSON.stringify(root.slice(0, 60))}`, 'NONEXISTENT')
    session.write(response)
  },
}

export const GETQUOTAROOT: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    const name = args.mailbox()
    args.end()
    const folders = await session.bus.call('mailstore.folders', {user: session.user!})
    const canonical = normalizeFolderName(name)
    if (!folders.some((f) => f.name === canonical)) throw noFolderError(name)
    const response = await quotaResponse(session)
    // the name as the client wrote it, as in RFC 9208's example and Dovecot's answer
    session.write(`* QUOTAROOT ${astr(session.names.encode(name), session.names.utf8)}${response ? ` ${str(ROOT)}` : ''}\r\n`)
    if (response) session.write(response)
  },
}

export const SETQUOTA: CommandHandler = {
  states: ['authenticated', 'selected'],
  async run(session, {args}) {
    args.astring('quota root')
    args.list('resource limits')
    args.end()
    throw new ImapError('NO', 'Quotas are set by the administrator (mailbox user add --quota / --max-messages, user import)', 'NOPERM')
  },
}
