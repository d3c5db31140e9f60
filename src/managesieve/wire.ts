/**
 * ManageSieve responses as they go on the wire (RFC 5804 §1.2, §4):
 *
 *   response = ("OK" / "NO" / "BYE") [SP "(" resp-code ")"] [SP string] CRLF
 *   string   = quoted / literal-s2c           ; literal-s2c = "{" number "}" CRLF *OCTET
 *
 * A text goes out quoted when it can (no CR, LF or NUL, at most 1024 bytes), as a literal
 * otherwise: a script, or several lines of syntax errors.
 */
import {MAX_QUOTED_BYTES} from './parser.js'

export type Status = 'OK' | 'NO' | 'BYE'

/**
 * RFC 5804 §1.3 response codes this server sends; `{tag}` is NOOP's `TAG "…"` (§2.13).
 */
export type ResponseCode =
  | 'AUTH-TOO-WEAK'
  | 'ENCRYPT-NEEDED'
  | 'QUOTA'
  | 'QUOTA/MAXSCRIPTS'
  | 'QUOTA/MAXSIZE'
  | 'TRYLATER'
  | 'ACTIVE'
  | 'NONEXISTENT'
  | 'ALREADYEXISTS'
  | {tag: string}

/** `s` as a ManageSieve string: quoted when it may be, else a literal */
export function sieveString(s: string): string {
  if (!/[\r\n\0]/.test(s) && Buffer.byteLength(s) <= MAX_QUOTED_BYTES) return `"${s.replace(/["\\]/g, '\\$&')}"`
  return sieveLiteral(s)
}

/** always a literal (GETSCRIPT's script, §2.9) */
export function sieveLiteral(s: string): string {
  return `{${Buffer.byteLength(s)}}\r\n${s}`
}

/** one response line (or a literal ending in one) */
export function response(status: Status, text?: string, code?: ResponseCode): string {
  const codePart = code === undefined ? '' : typeof code === 'string' ? ` (${code})` : ` (TAG ${sieveString(code.tag)})`
  return `${status}${codePart}${text === undefined ? '' : ` ${sieveString(text)}`}\r\n`
}

/** capability lines (RFC 5804 §1.7): `"NAME"` or `"NAME" "value"` each */
export function capabilityLines(caps: readonly (readonly [string, string?])[]): string {
  return caps.map(([name, value]) => (value === undefined ? `${sieveString(name)}\r\n` : `${sieveString(name)} ${sieveString(value)}\r\n`)).join('')
}
