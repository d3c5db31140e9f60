/**
 * The matcher's shared secret. The matcher hands out stored mail, so anywhere but on loopback a
 * client must present a token in its OLLEH. The token comes from `--matcher-token` / config
 * `matcher.token`; without one, a non-loopback matcher generates one into `<dataDir>/matcher.token`
 * (mode 0600), where `mailbox watch` on the same machine finds it. A token configured on loopback
 * is required too.
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {isIPv4, isIPv6} from 'node:net'
import {join} from 'node:path'
import {MailboxError} from '../errors.js'

export const TOKEN_FILE = 'matcher.token'

export const tokenPath = (dataDir: string): string => join(dataDir, TOKEN_FILE)

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost; anything else (0.0.0.0, ::, a LAN address) is exposed */
export function isLoopback(bind: string): boolean {
  const host = bind.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (host === 'localhost') return true
  const v4 = host.startsWith('::ffff:') && isIPv4(host.slice(7)) ? host.slice(7) : host
  if (isIPv4(v4)) return v4.split('.')[0] === '127'
  return isIPv6(host) && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(host)
}

/** the token a matcher on `bind` requires, or undefined when it needs none (loopback, none configured) */
export function requiredToken(options: {bind: string; configured?: string; dataDir: string}): {token?: string; generatedInto?: string} {
  if (options.configured !== undefined) {
    if (options.configured.trim().length < 16) throw new MailboxError('invalid', 'the matcher token must be at least 16 characters')
    return {token: options.configured.trim()}
  }
  if (isLoopback(options.bind)) return {}
  const path = tokenPath(options.dataDir)
  if (!existsSync(path)) return {token: createTokenFile(path), generatedInto: path}
  // an existing file is the admin's: a weak one, or one others can read, is refused rather than
  // used, and never silently replaced (watch clients may already hold it)
  const token = readTokenFile(options.dataDir) ?? ''
  if (token.length < 16) throw new MailboxError('invalid', `${path} holds no token of at least 16 characters: write one there, or remove the file to have one generated`)
  if (statSync(path).mode & 0o077) throw new MailboxError('invalid', `${path} is readable by other users: chmod 600 it`)
  return {token, generatedInto: path}
}

/** `<dataDir>/matcher.token` if it exists */
export function readTokenFile(dataDir: string): string | undefined {
  try {
    return readFileSync(tokenPath(dataDir), 'utf8').trim() || undefined
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new MailboxError('unavailable', `cannot read ${tokenPath(dataDir)}: ${(err as NodeJS.ErrnoException).code}`)
  }
}

function createTokenFile(path: string): string {
  const token = randomBytes(32).toString('base64url')
  writeFileSync(path, `${token}\n`, {mode: 0o600, flag: 'wx'})
  return token
}

/** constant time whatever the lengths: both sides are hashed to 32 bytes first */
export function tokensEqual(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
