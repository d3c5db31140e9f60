/** STARTTLS, LOGIN and AUTHENTICATE PLAIN / LOGIN (RFC 3501 §6.2, RFC 4959 SASL-IR). Passwords are checked, and failures throttled, by the auth actor. */
import {isMailboxError} from '../../errors.js'
import {capabilities, mayAuthenticate} from '../capabilities.js'
import {ImapError, type CommandHandler, type Session} from '../session.js'

export const STARTTLS: CommandHandler = {
  states: ['not-authenticated'],
  async run(session, {tag, args}) {
    args.end()
    if (session.secure || !session.options.secureContext) throw new ImapError('BAD', 'TLS is already active')
    session.write(`${tag} OK Begin TLS negotiation now\r\n`)
    await session.startTls()
    return null
  },
}

async function login(session: Session, username: string, password: string): Promise<string> {
  try {
    const {address} = await session.bus.call('auth.login', {username, password, remoteAddress: session.remoteAddress, protocol: 'imap'})
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

function requireTls(session: Session): void {
  if (!mayAuthenticate(session)) throw new ImapError('NO', 'Plaintext authentication is disabled; use STARTTLS first', 'PRIVACYREQUIRED')
}

export const LOGIN: CommandHandler = {
  states: ['not-authenticated'],
  async run(session, {args}) {
    const username = args.astring('user name')
    const password = args.astring('password')
    args.end()
    requireTls(session)
    return splitCode(await login(session, username, password))
  },
}

function splitCode(text: string): {code: string; text: string} {
  const m = /^\[([^\]]*)\] (.*)$/.exec(text)!
  return {code: m[1]!, text: m[2]!}
}

function decode64(text: string): string {
  if (text === '=') return ''
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) throw new ImapError('BAD', 'Invalid base64 in SASL response')
  return Buffer.from(text, 'base64').toString('utf8')
}

/** the client's next SASL response; '*' cancels (RFC 3501 §6.2.2) */
async function challenge(session: Session, prompt: string): Promise<string> {
  session.write(`+ ${prompt}\r\n`)
  session.socket.uncork()
  const line = await session.readLine()
  session.socket.cork()
  if (line === null) throw new ImapError('BAD', 'Connection closed')
  if (line.trim() === '*') throw new ImapError('BAD', 'Authentication cancelled')
  return decode64(line.trim())
}

export const AUTHENTICATE: CommandHandler = {
  states: ['not-authenticated'],
  async run(session, {args}) {
    const mechanism = args.atom('mechanism').toUpperCase()
    const initial = args.remaining ? args.astring('initial response') : undefined
    args.end()
    if (mechanism !== 'PLAIN' && mechanism !== 'LOGIN') throw new ImapError('NO', `Unsupported mechanism ${mechanism.slice(0, 20)}`, 'CANNOT')
    requireTls(session)
    let username: string
    let password: string
    if (mechanism === 'PLAIN') {
      const message = initial !== undefined ? decode64(initial) : await challenge(session, '')
      const [, authcid, passwd] = message.split('\0')
      if (authcid === undefined || passwd === undefined) throw new ImapError('BAD', 'Malformed PLAIN response')
      username = authcid
      password = passwd
    } else {
      // some clients (Outlook, older Apple Mail) send the user name as an initial response to LOGIN
      username = initial !== undefined ? decode64(initial) : await challenge(session, Buffer.from('Username:').toString('base64'))
      password = await challenge(session, Buffer.from('Password:').toString('base64'))
    }
    return splitCode(await login(session, username, password))
  },
}
