/**
 * Writing IMAP response data (RFC 3501 §4, §7.4.2): strings as quoted strings when they can be,
 * literals otherwise; NIL; the ENVELOPE and BODYSTRUCTURE forms from what delivery stored.
 */
import type {Envelope, EnvelopeAddress} from '../mime/envelope.js'
import type {MimePart} from '../mime/structure.js'
import {joinContinuations} from '../mime/rfc2231.js'
import {encodeMailboxName} from './mutf7.js'

/** a string as a quoted string, or as a literal when it holds CR, LF, NUL, 8-bit text or is long */
export function str(value: string): string {
  if (value.length < 1024 && !/[\r\n\0\u0080-\uffff]/.test(value)) return '"' + value.replace(/(["\\])/g, '\\$1') + '"'
  return `{${Buffer.byteLength(value)}}\r\n${value}`
}

/** an astring: a bare atom when every character may stand in one (RFC 9051 ASTRING-CHAR), else `str` */
export const astr = (value: string): string => (/^[\x21\x23\x24\x26\x27\x2b-\x5b\x5d-\x7a\x7c-\x7e]+$/.test(value) ? value : str(value))

export const nstr = (value: string | undefined | null): string => (value === undefined || value === null ? 'NIL' : str(value))

export const mailboxName = (name: string): string => str(encodeMailboxName(name))

export function flagList(flags: readonly string[]): string {
  return '(' + flags.join(' ') + ')'
}

function address(a: EnvelopeAddress): string {
  // (name adl mailbox host); a group start has no host, a group end neither mailbox nor host
  return `(${nstr(a.name)} ${nstr(a.adl)} ${nstr(a.mailbox)} ${nstr(a.host)})`
}

/** an ENVELOPE address list: NIL when empty */
export function addresses(list: EnvelopeAddress[]): string {
  return list.length ? '(' + list.map(address).join('') + ')' : 'NIL'
}

export function envelope(e: Envelope | undefined): string {
  if (!e) return '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)'
  return (
    '(' +
    [nstr(e.date), nstr(e.subject), addresses(e.from), addresses(e.sender), addresses(e.replyTo), addresses(e.to), addresses(e.cc), addresses(e.bcc), nstr(e.inReplyTo), nstr(e.messageId)].join(
      ' ',
    ) +
    ')'
  )
}

function params(p: Record<string, string> | undefined): string {
  const entries = Object.entries(joinContinuations(p ?? {}))
  if (!entries.length) return 'NIL'
  return '(' + entries.map(([k, v]) => `${str(k.toUpperCase())} ${str(v)}`).join(' ') + ')'
}

function disposition(part: MimePart): string {
  return part.disposition ? `(${str(part.disposition.value.toUpperCase())} ${params(part.disposition.params)})` : 'NIL'
}

/**
 * BODY (`extended` false) or BODYSTRUCTURE (`extended` true) of a part. `size` is the body's
 * octet count, taken from the offsets.
 */
export function bodyStructure(part: MimePart, extended: boolean): string {
  if (part.parts) {
    const children = part.parts.map((p) => bodyStructure(p, extended)).join('')
    const ext = extended ? ` ${params(part.params)} ${disposition(part)} ${nstr(part.language)} ${nstr(part.location)}` : ''
    return `(${children} ${str(part.subtype.toUpperCase())}${ext})`
  }
  const size = part.bodyEnd - part.bodyStart
  const fields = [
    str(part.type.toUpperCase()),
    str(part.subtype.toUpperCase()),
    params(part.params),
    nstr(part.id),
    nstr(part.description),
    str(part.encoding.toUpperCase()),
    String(size),
  ]
  if (part.message) fields.push(envelope(part.message.envelope), bodyStructure(part.message.root, extended), String(part.lines))
  else if (part.type === 'text') fields.push(String(part.lines))
  if (extended) fields.push(nstr(part.md5), disposition(part), nstr(part.language), nstr(part.location))
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
