/**
 * `GET https://HOST/mail/profile.mobileconfig`: a user downloads their own Apple profile
 * (./mobileconfig.ts) from the device that is to install it, logging in with HTTP Basic
 * (RFC 7617). The password goes through the auth actor like any login (`auth.login`, protocol
 * `http`): the same throttling, failure delays and familiar networks as IMAP or SMTP.
 *
 * Only over HTTPS: over plain HTTP the route refuses (403) before asking for a password, so a
 * browser never sends one in the clear. The profile is for the address that logged in, never one
 * named in the request.
 */
import {isMailboxError} from '../errors.js'
import type {HttpReply, HttpRoute} from '../http/route.js'
import {appleProfile} from './mobileconfig.js'
import {profileFileName} from './profile-name.js'
import type {ClientSettings} from './settings.js'

export const PROFILE_PATH = '/mail/profile.mobileconfig'

export interface ProfileRouteOptions {
  settings(): ClientSettings
  /** checks the password; resolves to the canonical address, rejects a MailboxError (auth-failed, throttled, disabled) */
  login(username: string, password: string, remoteAddress: string): Promise<string>
}

const text = (status: number, body: string, headers: Record<string, string> = {}): HttpReply => ({status, headers: {'Content-Type': 'text/plain; charset=utf-8', ...headers}, body: `${body}\n`})
const challenge = () => text(401, 'log in with your mail address and password', {'WWW-Authenticate': 'Basic realm="mail profile", charset="UTF-8"'})

/** `Basic base64(user:password)` → its two parts, or undefined */
export function basicCredentials(header: string | undefined): {username: string; password: string} | undefined {
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header ?? '')
  if (!m) return undefined
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  return {username: decoded.slice(0, colon), password: decoded.slice(colon + 1)}
}

export function profileRoute(options: ProfileRouteOptions): HttpRoute {
  return async (request) => {
    if (request.path !== PROFILE_PATH) return undefined
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed', {Allow: 'GET, HEAD'})
    if (!request.secure) return text(403, 'the profile is served over HTTPS only')
    const credentials = basicCredentials(request.headers.authorization)
    if (!credentials) return challenge()
    let address: string
    try {
      address = await options.login(credentials.username, credentials.password, request.remoteAddress)
    } catch (err) {
      if (isMailboxError(err, 'auth-failed')) return challenge()
      if (isMailboxError(err, 'throttled')) return text(429, 'too many failed logins, try again later')
      if (isMailboxError(err, 'disabled')) return text(403, 'account disabled')
      throw err
    }
    const profile = appleProfile(address, options.settings())
    return {
      status: 200,
      headers: {'Content-Type': 'application/x-apple-aspen-config', 'Content-Disposition': `attachment; filename="${profileFileName(address)}"`},
      body: profile.text,
    }
  }
}
