/** tag AUTHENTICATE PLAIN|LOGIN [initial-response] (RFC 3501 §6.2.2, RFC 4959 SASL-IR) */
import {ImapError, type CommandHandler, type Session} from '../session.js'
import {logIn, requireTls, splitCode} from './login.js'

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
    return splitCode(await logIn(session, username, password, mechanism))
  },
}
