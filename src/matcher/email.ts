/**
 * The `email` object of a GOTEMAIL message (and of `mailbox watch --json`): the message decoded
 * by mailparser, plus its links and likely one-time codes. Keys are snake_case, as in the
 * protocol's own `match_id`.
 */
import type {AddressObject} from 'mailparser'
import type {BlobInfoRecord} from '../store/records.js'
import {extractCodes, extractLinks, htmlToText} from './extract.js'

export interface MatcherEmail {
  id: string
  mail_from: string
  rcpt_to: string[]
  from: string
  to: string[]
  cc: string[]
  subject: string
  date: string | null
  message_id: string | null
  headers: Record<string, string>
  text: string
  html: string
  attachments: {filename: string | null; content_type: string; size: number}[]
  raw_size: number
  links: string[]
  codes: string[]
  /** base64, only when the MATCH asked for it with "raw": true */
  raw?: string
}

const addresses = (a: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => v.address ?? '')).filter(Boolean)

export async function buildEmail(id: string, raw: Buffer, info: BlobInfoRecord | undefined, withRaw: boolean): Promise<MatcherEmail> {
  // loaded at the first message a matcher client asks for: mailparser is no part of serve's start
  const {simpleParser} = await import('mailparser')
  const mail = await simpleParser(raw, {skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true})
  const html = typeof mail.html === 'string' ? mail.html : ''
  const text = mail.text ?? (html ? htmlToText(html) : '')
  const headers: Record<string, string> = {}
  for (const line of mail.headerLines) {
    const value = line.line.slice(line.line.indexOf(':') + 1).trim()
    headers[line.key] = headers[line.key] === undefined ? value : `${headers[line.key]}, ${value}`
  }
  return {
    id,
    mail_from: info?.mailFrom ?? '',
    rcpt_to: info?.rcptTo ?? [],
    from: mail.from?.text ?? '',
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    subject: mail.subject ?? '',
    date: mail.date ? mail.date.toISOString() : null,
    message_id: mail.messageId ?? null,
    headers,
    text,
    html,
    attachments: mail.attachments.map((a) => ({filename: a.filename ?? null, content_type: a.contentType, size: a.size})),
    raw_size: raw.length,
    links: extractLinks(text, html),
    codes: extractCodes(`${mail.subject ?? ''}\n${text}`),
    ...(withRaw ? {raw: raw.toString('base64')} : {}),
  }
}
