/**
 * SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) for SMTP AUTH (RFC 4954): decoding
 * only; the connection runs the exchange and the onAuth hook checks the password.
 */

/** what a mechanism hands to onAuth */
export interface SmtpAuth {
  method: 'PLAIN' | 'LOGIN'
  username: string
  password: string
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/

/** LOGIN's prompts, base64 of "Username:" and "Password:" */
export const LOGIN_USERNAME_PROMPT = 'VXNlcm5hbWU6'
export const LOGIN_PASSWORD_PROMPT = 'UGFzc3dvcmQ6'

/**
 * PLAIN's `authzid NUL authcid NUL passwd`. The identity is the authcid; clients that put the
 * user in the authzid and leave the authcid empty are accepted, as smtp-server accepts them.
 */
export function decodePlain(token: string): {username: string; password: string} | undefined {
  const fields = Buffer.from(token, 'base64').toString('utf8').split('\0')
  if (fields.length !== 3) return undefined
  const [authzid = '', authcid = '', password = ''] = fields
  const username = authcid || authzid
  if (!username || CONTROL.test(username) || CONTROL.test(authzid)) return undefined
  return {username, password}
}

/** LOGIN's username line; undefined when empty or not a name */
export function decodeLoginUsername(line: string): string | undefined {
  const username = Buffer.from(line, 'base64').toString('utf8')
  return username && !CONTROL.test(username) ? username : undefined
}

export function decodeLoginPassword(line: string): string {
  return Buffer.from(line, 'base64').toString('utf8')
}
