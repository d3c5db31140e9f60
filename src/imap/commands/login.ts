/** tag LOGIN user password (RFC 3501 §6.2.3); the password check and its throttling are the auth actor's */
import type {LoginMechanism} from '../../bus.js'
import {isMailboxError} from '../../errors.js'
import {tlsLabel} from '../../tls-label.js'
import {capabilities, mayAuthenticate} from '../capabilities.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'

export async function logIn(session: Session, username: string, password: string, mechanism: LoginMechanism): Promise<string> {
  try {
    const {remoteAddress, socket} = session
    const {address} = await session.bus.call('auth.login', {username, password, remoteAddress, protocol: 'imap', mechanism, tls: tlsLabel(socket)})
    session.loggedIn(address)
    return `[CAPABILITY ${capabilities(session)}] Logged in`
  } catch (err) {
    if (isMailboxError(err, 'throttled')) throw new ImapError('NO', 'Too many failed logins; try again later', 'UNAVAILABLE')
    if (isMailboxError(err, 'auth-failed') || isMailboxError(err, 'disabled')) {
      throw new ImapError('NO', 'Authentication failed', 'AUTHENTICATIONFAILED')
    }
    throw err
  }
}

export function requireTls(session: Session): void {
  if (!mayAuthenticate(session)) throw new ImapError('NO', 'Plaintext authentication is disabled; use STARTTLS first', 'PRIVACYREQUIRED')
}

export const LOGIN: CommandHandler = {
  states: ['not-authenticated'],
  async run(session, {args}) {
    const username = args.astring('user name')
    const password = args.astring('password')
    args.end()
    requireTls(session)
    return splitCode(await logIn(session, username, password, 'password'))
  },
}

export function splitCode(text: string): {code: string; text: string} {
  const m = /^\[([^\]]*)\] (.*)$/.exec(text)!
  return {code: m[1]!, text: m[2]!}
}
