/**
 * Everything computed from a message's bytes once, at delivery: the MIME structure with offsets
 * and the IMAP envelope (our parser, ./mime), and a decoded summary plus search text
 * (mailparser, which knows every charset and encoding).
 */
import {simpleParser, type AddressObject} from 'mailparser'
import {parseMessage} from '../mime/structure.js'
import type {Envelope} from '../mime/envelope.js'
import type {MimePart} from '../mime/structure.js'
import type {MessageSummary} from '../store/records.js'

/** search text kept per message; longer bodies are searched by their first part only */
const MAX_SEARCH_TEXT = 1024 * 1024

export interface Analysis {
  envelope: Envelope
  structure: MimePart
  summary: MessageSummary
  text: string
}

const addressText = (a: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => v.address ?? v.name ?? '')).filter(Boolean)

export async function analyzeMessage(raw: Buffer): Promise<Analysis> {
  const {envelope, root} = parseMessage(raw)
  const mail = await simpleParser(raw, {skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true})
  const text = [mail.subject ?? '', mail.text ?? (typeof mail.html === 'string' ? mail.html.replace(/<[^>]*>/g, ' ') : '')].join('\n')
  return {
    envelope,
    structure: root,
    summary: {
      from: mail.from?.text ?? '',
      to: [...addressText(mail.to), ...addressText(mail.cc)],
      subject: mail.subject ?? '',
      ...(mail.date ? {date: mail.date.getTime()} : {}),
      ...(mail.messageId ? {messageId: mail.messageId} : {}),
    },
    text: text.length > MAX_SEARCH_TEXT ? text.slice(0, MAX_SEARCH_TEXT) : text,
  }
}
