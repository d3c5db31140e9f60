/**
 * The Sender Rewriting Scheme (Shevek's paper, as libsrs2 and postsrsd implement it), byte for
 * byte postsrsd's format so an address one of them made is recognised by the other with the same
 * secret:
 *
 *   SRS0=HHHH=TT=orig-domain=orig-local@forwarding-domain
 *   SRS1=HHHH=first-forwarder==HHHH=TT=orig-domain=orig-local@forwarding-domain
 *
 * HHHH: the first 4 characters of base64(HMAC-SHA1(secret, parts)), the parts lowercased (ASCII
 * only, as C's tolower) and fed in order: SRS0 (timestamp, domain, local), SRS1 (first forwarder,
 * the rest of its SRS0 local part from its separator on). TT: the day number mod 1024 in base32
 * (A-Z2-7). Checks are case-insensitive (MTAs, this one included, lowercase local parts); an
 * address older than `maxAgeDays` (or stamped in the future: it reads as ~1024 days old) is refused.
 *
 * SRS1 ("guarded"): re-forwarding an SRS0 address of another forwarder keeps that address's
 * opaque part and hashes only what we add, so a bounce goes back to that forwarder, which checks
 * its own hash. Reversing an SRS1 address gives that forwarder's SRS0 address, unchecked.
 *
 * A quoted local part (`"john doe"@x`) is unquoted for hashing; a result that needs quotes gets
 * them around the whole SRS local part. Domains are used as given (an IDN as the caller wrote it:
 * punycode stays punycode). node:crypto is loaded at first use: address checks run in light commands.
 */
import type * as NodeCrypto from 'node:crypto'
import {MailboxError} from '../errors.js'
import {lazyRequire} from '../lazy-require.js'

export const DEFAULT_SRS_MAX_AGE_DAYS = 21

const HASH_LENGTH = 4
const DAY_MS = 86_400_000
const TIME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
/** two base32 characters: 1024 days, then the stamps come round again */
const TIME_SLOTS = 1024
/** SRS0 or SRS1 and one of the separators libsrs2 accepts after the tag */
const SRS_LOCAL = /^srs([01])[=+-]/i
/** a local part that needs no quotes (RFC 5322 dot-atom; RFC 6531 lets UTF-8 in) */
const DOT_ATOM = /^[\p{L}\p{N}\p{M}!#$%&'*+\-/=?^_`{|}~]+(?:\.[\p{L}\p{N}\p{M}!#$%&'*+\-/=?^_`{|}~]+)*$/u

let crypto: typeof NodeCrypto | undefined
const nodeCrypto = () => (crypto ??= lazyRequire<typeof NodeCrypto>('node:crypto'))

interface Split {
  /** unquoted */
  local: string
  domain: string
}

/** local part (unquoted) and domain; the last '@' splits them, so a quoted local part may hold one */
function split(address: string): Split | undefined {
  const at = address.lastIndexOf('@')
  if (at <= 0 || at === address.length - 1) return undefined
  return {local: unquote(address.slice(0, at)), domain: address.slice(at + 1)}
}

function unquote(local: string): string {
  if (local.length < 2 || !local.startsWith('"') || !local.endsWith('"')) return local
  return local.slice(1, -1).replace(/\\(.)/gsu, '$1')
}

function join(local: string, domain: string): string {
  const quoted = DOT_ATOM.test(local) ? local : `"${local.replace(/["\\]/g, '\\$&')}"`
  return `${quoted}@${domain}`
}

/** C's tolower in the "C" locale: ASCII letters only, so UTF-8 local parts hash as postsrsd hashes them */
const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase())

function hash(secret: Buffer, parts: string[]): string {
  const hmac = nodeCrypto().createHmac('sha1', secret)
  for (const part of parts) hmac.update(asciiLower(part), 'utf8')
  return hmac.digest('base64').slice(0, HASH_LENGTH)
}

/** libsrs2's hash check: at least 4 characters, the first 4 compared case-insensitively */
function hashMatches(given: string, secret: Buffer, parts: string[]): boolean {
  if (given.length < HASH_LENGTH) return false
  const expected = Buffer.from(hash(secret, parts).toLowerCase())
  const actual = Buffer.from(given.slice(0, HASH_LENGTH).toLowerCase())
  return actual.length === expected.length && nodeCrypto().timingSafeEqual(actual, expected)
}

/** the day stamp of `now`: day number mod 1024 in base32, high character first */
export function srsTimestamp(now: number): string {
  const day = Math.floor(now / DAY_MS)
  return TIME_CHARS[(day >> 5) & 31]! + TIME_CHARS[day & 31]!
}

/** whether a day stamp is at most `maxAgeDays` old (libsrs2: a stamp ahead of today is ~1024 days old) */
function stampFresh(stamp: string, now: number, maxAgeDays: number): boolean {
  if (stamp.length !== 2) return false
  let then = 0
  for (const c of stamp.toUpperCase()) {
    const value = TIME_CHARS.indexOf(c)
    if (value < 0) return false
    then = (then << 5) | value
  }
  let today = Math.floor(now / DAY_MS) % TIME_SLOTS
  while (today < then) today += TIME_SLOTS
  return today <= then + maxAgeDays
}

/** the pieces of `rest` between '=' separators: the first `n - 1` split off, the last takes the remainder; all non-empty */
function fields(rest: string, n: number): string[] | undefined {
  const out: string[] = []
  let from = 0
  for (let i = 0; i < n - 1; i++) {
    const eq = rest.indexOf('=', from)
    if (eq < 0) return undefined
    out.push(rest.slice(from, eq))
    from = eq + 1
  }
  out.push(rest.slice(from))
  return out.every((f) => f.length > 0) ? out : undefined
}

/** an SRS0 or SRS1 address (its local part has the tag and a separator): what bounce routing looks at */
export function isSrsAddress(address: string): boolean {
  const at = address.lastIndexOf('@')
  return SRS_LOCAL.test(unquote(at < 0 ? address : address.slice(0, at)))
}

/**
 * The SRS form of `sender` (a full address, never '') for mail we forward from `domain` (a local
 * domain): SRS0 for a plain address, SRS1 for another forwarder's SRS0 or SRS1 address. A sender
 * in `domain` itself is returned as it is (libsrs2 and postsrsd: our SPF already covers it).
 */
export function srsForward(sender: string, domain: string, secret: Buffer, now: number = Date.now()): string {
  const from = split(sender)
  if (!from) throw new MailboxError('invalid', `cannot rewrite the sender ${JSON.stringify(sender)}: not an address`)
  if (from.domain.toLowerCase() === domain.toLowerCase()) return sender
  const tag = SRS_LOCAL.exec(from.local)?.[1]
  // a local part that only looks like SRS1 (any sender may write one) is wrapped as a plain one below
  const [, host, opaque] = (tag === '1' && fields(from.local.slice(5), 3)) || []
  if (host && opaque) {
    // SRS1=hash=host=opaque: a new hash over the same host and opaque part
    return join(`SRS1=${hash(secret, [host, opaque])}=${host}=${opaque}`, domain)
  }
  if (tag === '0') {
    // another forwarder's SRS0: kept whole from its separator on, behind that forwarder's domain
    const opaque = from.local.slice(4)
    return join(`SRS1=${hash(secret, [from.domain, opaque])}=${from.domain}=${opaque}`, domain)
  }
  const stamp = srsTimestamp(now)
  return join(`SRS0=${hash(secret, [stamp, from.domain, from.local])}=${stamp}=${from.domain}=${from.local}`, domain)
}

/**
 * The address an SRS address stands for, when its hash checks with `secret` (and, SRS0, its stamp
 * is at most `maxAgeDays` old); else undefined. SRS1 gives the first forwarder's SRS0 address
 * (that forwarder checks it). The domain of `address` is not looked at: the caller routes only
 * addresses of its own domains here.
 */
export function srsReverse(address: string, secret: Buffer, now: number = Date.now(), maxAgeDays: number = DEFAULT_SRS_MAX_AGE_DAYS): string | undefined {
  const at = address.lastIndexOf('@')
  const local = unquote(at < 0 ? address : address.slice(0, at))
  const tag = SRS_LOCAL.exec(local)?.[1]
  if (tag === '1') {
    const [given, host, opaque] = fields(local.slice(5), 3) ?? []
    if (!given || !host || !opaque || !hashMatches(given, secret, [host, opaque])) return undefined
    return join(`SRS0${opaque}`, host)
  }
  if (tag === '0') {
    const [given, stamp, host, user] = fields(local.slice(5), 4) ?? []
    if (!given || !stamp || !host || !user) return undefined
    if (!stampFresh(stamp, now, maxAgeDays) || !hashMatches(given, secret, [stamp, host, user])) return undefined
    return join(user, host)
  }
  return undefined
}

/** why `address` does not reverse (for a refusal's text and the log): malformed, expired or a bad hash */
export function srsRefusal(address: string, secret: Buffer, now: number = Date.now(), maxAgeDays: number = DEFAULT_SRS_MAX_AGE_DAYS): string {
  const at = address.lastIndexOf('@')
  const local = unquote(at < 0 ? address : address.slice(0, at))
  if (/^srs0/i.test(local)) {
    const [given, stamp, host, user] = fields(local.slice(5), 4) ?? []
    if (!given || !stamp || !host || !user) return 'malformed SRS address'
    if (!stampFresh(stamp, now, maxAgeDays)) return 'SRS address expired'
  } else if (!fields(local.slice(5), 3)) {
    return 'malformed SRS address'
  }
  return 'SRS address hash does not match'
}
