/**
 * What is computed from a message's bytes at delivery, on the ingest path: the MIME structure
 * with offsets and the IMAP envelope (our parser, ./mime), and a decoded summary for commands
 * and events (RFC 2047 words decoded with libmime). All of it is a linear scan of the header
 * and the multipart boundaries — cheap enough for the main thread at SMTP speed.
 *
 * Search text (decoded bodies, every charset) is not made here: mailparser costs about as much
 * as the whole SMTP transaction, so it is extracted on first use and cached (./search-text.ts),
 * as Dovecot does without an FTS plugin.
 */
import type Libmime from 'libmime'
import {lazyRequire} from '../lazy-require.js'
import {crlfInfo} from '../mime/crlf.js'
import {type Envelope, type EnvelopeAddress} from '../mime/envelope.js'
import {parseMessage, type MimePart} from '../mime/structure.js'
import type {MessageSummary} from '../store/records.js'

export interface Analysis {
  envelope: Envelope
  structure: MimePart
  summary: MessageSummary
  /** size with CRLF line endings (POP3's size) */
  crlfSize: number
}

/** loaded at the first header to decode: the schema migrations import this module (lazy-require.ts) */
let libmime: typeof Libmime | undefined

function decode(value: string | undefined): string {
  if (!value) return ''
  const mime = (libmime ??= lazyRequire<typeof Libmime>('libmime')) // outside the try: a failed load is no malformed word
  try {
    return mime.decodeWords(value)
  } catch {
    return value // a malformed encoded-word is shown as it came
  }
}

const address = (a: EnvelopeAddress) => (a.mailbox && a.host ? `${a.mailbox}@${a.host}` : (a.mailbox ?? ''))

/** a display name with RFC 5322 specials must be quoted to keep the address string valid */
const phrase = (name: string) => (/[()<>[\]:;@\\,."]/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : name)

function display(list: EnvelopeAddress[]): string {
  return list
    .filter((a) => a.host !== undefined || a.name)
    .map((a) => (a.name ? `${phrase(decode(a.name))} <${address(a)}>` : address(a)))
    .join(', ')
}

export function analyzeMessage(raw: Buffer): Analysis {
  const {envelope, root} = parseMessage(raw)
  const date = envelope.date ? Date.parse(envelope.date) : NaN
  return {
    envelope,
    structure: root,
    crlfSize: crlfInfo(raw).size,
    summary: {
      from: display(envelope.from),
      to: [...envelope.to, ...envelope.cc].filter((a) => a.host !== undefined).map(address),
      subject: decode(envelope.subject),
      ...(Number.isFinite(date) ? {date} : {}),
      ...(envelope.messageId ? {messageId: envelope.messageId} : {}),
    },
  }
}

/**
 * The analysis of the same message after `by` bytes of whole header fields with CRLF line ends
 * are put on top of it (negative: taken off its top) — as the queue's copy loses the Return-Path
 * line and gains its DKIM signatures — without parsing it again: the envelope and summary do not
 * read those fields, and every offset past the top moves by `by`.
 */
export function withTopChanged(analysis: Analysis, by: number): Analysis {
  if (by === 0) return analysis
  return {...analysis, structure: {...moved(analysis.structure, by), headerStart: 0}, crlfSize: analysis.crlfSize + by}
}

function moved(part: MimePart, by: number): MimePart {
  return {
    ...part,
    headerStart: part.headerStart + by,
    bodyStart: part.bodyStart + by,
    bodyEnd: part.bodyEnd + by,
    ...(part.parts ? {parts: part.parts.map((child) => moved(child, by))} : {}),
    ...(part.message ? {message: {...part.message, root: moved(part.message.root, by)}} : {}),
  }
}
