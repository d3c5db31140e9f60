/**
 * `MAIL FROM:<reverse-path> [params]` and `RCPT TO:<forward-path> [params]` (RFC 5321 §4.1.1.2-3,
 * §4.1.2), parsed as smtp-server parses them: the path in angle brackets, a source route dropped,
 * the address checked for shape (one @, no control or invisible characters, a domain of letters,
 * digits, dots and hyphens or an address literal); parameters `KEY[=value]`, keys upper-cased,
 * values xtext-decoded (RFC 3461 §4). What the address means is the hooks' business.
 */
import {isIPv4, isIPv6} from 'node:net'

/** a parsed path: `address` '' is the null reverse-path `<>`; `args` maps upper-case keys to values (true: no value) */
export interface SmtpAddress {
  address: string
  args: Record<string, string | true>
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u200b\u2060\ufeff]/
const SOURCE_ROUTE = /^@[^\s,:@]+(?:,@[^\s,:@]+)*:/
const DOMAIN = /^[a-zA-Z0-9\u0080-\uffff.-]+$/

/** `verb` is 'MAIL FROM' or 'RCPT TO'; undefined when the line does not parse, or `duplicate` names a repeated parameter */
export function parsePath(verb: 'MAIL FROM' | 'RCPT TO', line: string): (SmtpAddress & {duplicate?: string}) | undefined {
  const colon = line.indexOf(':')
  if (colon === -1 || line.slice(0, colon).trim().replace(/\s+/, ' ').toUpperCase() !== verb) return undefined
  const parts = line.slice(colon + 1).trim().split(/\s+/)
  const path = parts.shift() ?? ''
  if (!/^<[^<>]*>$/.test(path)) return undefined
  const address = path.slice(1, -1).replace(SOURCE_ROUTE, '')
  const args: Record<string, string | true> = {}
  let duplicate: string | undefined
  for (const param of parts) {
    if (!param) continue
    const eq = param.indexOf('=')
    const key = (eq === -1 ? param : param.slice(0, eq)).toUpperCase()
    if (!key) continue
    const raw = eq === -1 ? '' : param.slice(eq + 1)
    const value = raw ? raw.replace(/\+([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : true
    if (value !== true && UNSAFE.test(value)) return undefined
    if (key in args) duplicate = key
    args[key] = value
  }
  if (address && !validAddress(verb, address)) return undefined
  return {address, args, ...(duplicate ? {duplicate} : {})}
}

function validAddress(verb: string, address: string): boolean {
  if (UNSAFE.test(address)) return false
  if (verb === 'RCPT TO' && address.toLowerCase() === 'postmaster') return true
  const at = address.lastIndexOf('@')
  if (at <= 0 || at === address.length - 1 || address.indexOf('@') !== at) return false
  const local = address.slice(0, at)
  const domain = address.slice(at + 1)
  if (address.length > 254 || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false
  if (domain.startsWith('[') && domain.endsWith(']')) {
    const literal = domain.slice(1, -1)
    return /^ipv6:/i.test(literal) ? isIPv6(literal.slice(5)) : isIPv4(literal)
  }
  return DOMAIN.test(domain) && !domain.startsWith('.') && !domain.endsWith('.') && !domain.includes('..') && !domain.includes('.-') && !domain.includes('-.')
}
