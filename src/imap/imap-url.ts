/**
 * IMAP URLs (RFC 5092) naming a message or a part of one, as CATENATE (RFC 4469) takes them:
 * `imap://[user@]host[:port]/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]`, or the
 * same from the path on (`/INBOX;UIDVALIDITY=785799047/;UID=113330/;SECTION=1.5.9`). Only the
 * session's own user: a URL naming another user, or carrying URLAUTH (not offered), is refused,
 * and a mailbox name is looked up among the session user's folders alone.
 */
import {parseCommand} from './parser.js'
import {parseSection, type SectionSpec} from './sections.js'

export interface MessageUrl {
  /** the folder name, UTF-8 (RFC 5092 §3.2: percent-encoded UTF-8, not modified UTF-7) */
  mailbox: string
  uidValidity?: number
  uid: number
  section?: SectionSpec
  partial?: [start: number, length: number]
}

const ABSOLUTE = /^imap:\/\/(?:([^@/]*)@)?[^/@]+(\/.*)$/i
const NUMBER = /^[1-9]\d{0,9}$/

/** The message or part the URL names, or undefined when it is not one this user may name. */
export function parseMessageUrl(url: string, user: string): MessageUrl | undefined {
  let path = url
  const absolute = ABSOLUTE.exec(url)
  if (absolute) {
    // `user;AUTH=…`: the user part alone; it must be the session's own
    const owner = absolute[1]?.split(';')[0]
    if (owner && decode(owner)?.toLowerCase() !== user.toLowerCase()) return undefined
    path = absolute[2]!
  }
  if (!path.startsWith('/') || path.startsWith('//')) return undefined
  const [mailboxRef, ...params] = path.slice(1).split('/;')
  const [encodedName, ...mailboxParams] = mailboxRef!.split(';')
  const mailbox = decode(encodedName!)
  if (!mailbox) return undefined
  const out: Partial<MessageUrl> & {mailbox: string} = {mailbox}
  for (const p of mailboxParams) {
    const m = /^UIDVALIDITY=(.*)$/i.exec(p)
    if (!m || !NUMBER.test(m[1]!) || out.uidValidity !== undefined) return undefined
    out.uidValidity = Number(m[1])
  }
  // ;UID, then optionally ;SECTION and ;PARTIAL, in that order (RFC 5092 §9 ipath); anything else (;URLAUTH, ;EXPIRE) is refused
  const order = ['UID', 'SECTION', 'PARTIAL']
  let at = 0
  for (const p of params) {
    const eq = p.indexOf('=')
    const key = p.slice(0, eq).toUpperCase()
    const value = decode(p.slice(eq + 1))
    const index = order.indexOf(key, at)
    if (eq < 0 || index < 0 || value === undefined) return undefined
    at = index + 1
    if (key === 'UID') {
      if (!NUMBER.test(value)) return undefined
      out.uid = Number(value)
    } else if (key === 'SECTION') {
      const section = sectionOf(value)
      if (!section) return undefined
      out.section = section
    } else {
      const m = /^(\d{1,10})(?:\.([1-9]\d{0,9}))?$/.exec(value)
      if (!m) return undefined
      out.partial = [Number(m[1]), m[2] === undefined ? Infinity : Number(m[2])]
    }
  }
  if (out.uid === undefined) return undefined
  return out as MessageUrl
}

/** percent-decoding to UTF-8; undefined for a bad escape or bytes that are not UTF-8 */
function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** a section as FETCH BODY[…] takes it, read by the command parser's grammar */
function sectionOf(text: string): SectionSpec | undefined {
  try {
    // one section node and nothing more: "1]<0.5>" or "1] X" would smuggle in more than a section
    const {args} = parseCommand([`X FETCH BODY[${text}]`])
    const node = args[0]
    return args.length === 1 && node?.type === 'section' && !node.partial ? parseSection(node.section) : undefined
  } catch {
    return undefined
  }
}

/** the URL as it may stand in `[BADURL …]` (RFC 4469 §5, errata 2002 and 4046: bare, without "]" or line breaks) */
export function urlResponseText(url: string): string {
  return url.replace(/]/g, '%5D').replace(/[\u0000-\u001f\u007f]/g, '') || '/'
}
