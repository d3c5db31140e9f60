/**
 * The IMAP ENVELOPE of a message (RFC 3501 §7.4.2), built from raw header fields at delivery
 * and stored, so FETCH ENVELOPE never re-reads the body. Strings stay undecoded (encoded-words
 * included), as the RFC requires.
 */
import {parseAddressList, type ParsedAddress} from './address-list.js'
import {fieldValue, type HeaderField} from './header.js'

/**
 * One element of an ENVELOPE address list: a mailbox, or a group marker (RFC 3501 §7.4.2): a
 * group start has the group's name as `mailbox` and no host, a group end has neither. A mailbox
 * without a domain has an empty host, never NIL (which would read as a group marker).
 */
export type EnvelopeAddress = ParsedAddress

export interface Envelope {
  date?: string
  subject?: string
  from: EnvelopeAddress[]
  sender: EnvelopeAddress[]
  replyTo: EnvelopeAddress[]
  to: EnvelopeAddress[]
  cc: EnvelopeAddress[]
  bcc: EnvelopeAddress[]
  inReplyTo?: string
  messageId?: string
}

const toAddresses = (value: string | undefined): EnvelopeAddress[] => (value ? parseAddressList(value) : [])

export function buildEnvelope(fields: HeaderField[]): Envelope {
  const from = toAddresses(fieldValue(fields, 'from'))
  const sender = toAddresses(fieldValue(fields, 'sender'))
  const replyTo = toAddresses(fieldValue(fields, 'reply-to'))
  const optional = (key: string) => {
    const v = fieldValue(fields, key)
    return v === undefined ? {} : {[key === 'in-reply-to' ? 'inReplyTo' : key === 'message-id' ? 'messageId' : key]: v}
  }
  return {
    ...optional('date'),
    ...optional('subject'),
    from,
    sender: sender.length ? sender : from,
    replyTo: replyTo.length ? replyTo : from,
    to: toAddresses(fieldValue(fields, 'to')),
    cc: toAddresses(fieldValue(fields, 'cc')),
    bcc: toAddresses(fieldValue(fields, 'bcc')),
    ...optional('in-reply-to'),
    ...optional('message-id'),
  }
}
