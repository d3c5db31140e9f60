/**
 * Writing IMAP response data (RFC 3501 §4, §7.4.2): strings as quoted strings when they can be,
 * literals otherwise; NIL; the ENVELOPE and BODYSTRUCTURE forms from what delivery stored.
 */
import type {Envelope, EnvelopeAddress} from '../mime/envelope.js'
import type {MimePart} from '../mime/structure.js'
import {joinContinuations} from '../mime/rfc2231.js'
import type {NameCodec} from './names.js'

/**
 * a string as a quoted string, or as a literal when it holds CR, LF, NUL or is long; 8-bit text
 * is quoted only for a session that takes UTF-8 quoted strings (`utf8`: UTF8=ACCEPT, IMAP4rev2)
 */
export function str(value: string, utf8 = false): string {
  if (value.length < 1024 && !(utf8 ? /[\r\n\0]/ : /[\r\n\0\u0080-\uffff]/).test(value)) return '"' + value.replace(/(["\\])/g, '\\$1') + '"'
  return `{${Buffer.byteLength(value)}}\r\n${value}`
}

/** an astring: a bare atom when every character may stand in one (RFC 9051 ASTRING-CHAR), else `str` */
export const astr = (value: string, utf8 = false): string => (/^[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c-\x7e]+$/.test(value) ? value : str(value, utf8))

export const nstr = (value: string | undefined | null, utf8 = false): string => (value === undefined || value === null ? 'NIL' : str(value, utf8))

/** a folder's name as the session spells it, quoted (LIST, LSUB, STATUS) */
export const mailboxName = (name: string, names: NameCodec): string => str(names.encode(name), names.utf8)

export function flagList(flags: readonly string[]): string {
  return '(' + flags.join(' ') + ')'
}

function address(a: EnvelopeAddress, utf8: boolean): string {
  // (name adl mailbox host); a group start has no host, a group end neither mailbox nor host
  return `(${nstr(a.name, utf8)} ${nstr(a.adl, utf8)} ${nstr(a.mailbox, utf8)} ${nstr(a.host, utf8)})`
}

/** an ENVELOPE address list: NIL when empty */
export function addresses(list: EnvelopeAddress[], utf8 = false): string {
  return list.length ? '(' + list.map((a) => address(a, utf8)).join('') + ')' : 'NIL'
}

/** `utf8`: the session takes UTF-8 quoted strings, so raw UTF-8 header text is quoted rather than sent as a literal */
export function envelope(e: Envelope | undefined, utf8 = false): string {
  if (!e) return '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)'
  return (
    '(' +
    [nstr(e.date, utf8), nstr(e.subject, utf8), ...[e.from, e.sender, e.replyTo, e.to, e.cc, e.bcc].map((list) => addresses(list, utf8)), nstr(e.inReplyTo, utf8), nstr(e.messageId, utf8)].join(
      ' ',
    ) +
    ')'
  )
}

function params(p: Record<string, string> | undefined, utf8: boolean): string {
  const entries = Object.entries(joinContinuations(p ?? {}))
  if (!entries.length) return 'NIL'
  return '(' + entries.map(([k, v]) => `${str(k.toUpperCase())} ${str(v, utf8)}`).join(' ') + ')'
}

function disposition(part: MimePart, utf8: boolean): string {
  return part.disposition ? `(${str(part.disposition.value.toUpperCase())} ${params(part.disposition.params, utf8)})` : 'NIL'
}

/**
 * BODY (`extended` false) or BODYSTRUCTURE (`extended` true) of a part. `size` is the body's
 * octet count, taken from the offsets.
 */
export function bodyStructure(part: MimePart, extended: boolean, utf8 = false): string {
  if (part.parts) {
    const children = part.parts.map((p) => bodyStructure(p, extended, utf8)).join('')
    const ext = extended ? ` ${params(part.params, utf8)} ${disposition(part, utf8)} ${nstr(part.language, utf8)} ${nstr(part.location, utf8)}` : ''
    return `(${children} ${str(part.subtype.toUpperCase())}${ext})`
  }
  const size = part.bodyEnd - part.bodyStart
  const fields = [
    str(part.type.toUpperCase()),
    str(part.subtype.toUpperCase()),
    params(part.params, utf8),
    nstr(part.id, utf8),
    nstr(part.description, utf8),
    str(part.encoding.toUpperCase()),
    String(size),
  ]
  if (part.message) fields.push(envelope(part.message.envelope, utf8), bodyStructure(part.message.root, extended, utf8), String(part.lines))
  else if (part.type === 'text') fields.push(String(part.lines))
  if (extended) fields.push(nstr(part.md5, utf8), disposition(part, utf8), nstr(part.language, utf8), nstr(part.location, utf8))
  return '(' + fields.join(' ') + ')'
}

/** a sorted list of numbers as a compact sequence set: 1:3,7,9:10 */
export function compactSet(numbers: number[]): string {
  const ranges: [number, number][] = []
  for (const n of numbers) {
    const last = ranges[ranges.length - 1]
    if (last && n === last[1] + 1) last[1] = n
    else ranges.push([n, n])
  }
  return formatRanges(ranges)
}

/** ranges as a sequence set: [[1, 1], [3, 4]] → 1,3:4 */
export const formatRanges = (ranges: [number, number][]): string => ranges.map(([a, b]) => (a === b ? String(a) : `${a}:${b}`)).join(',')
