/**
 * The IMAP ENVELOPE of a message (RFC 3501 §7.4.2), built from raw header fields at delivery
 * and stored, so FETCH ENVELOPE never re-reads the body. Strings stay undecoded (encoded-words
 * included), as the RFC requires.
 */
import addressparser from 'nodemailer/lib/addressparser'
import {fieldValue, type HeaderField} from './header.js'

/** host of an address that had none (as Dovecot writes it) */
export const MISSING_DOMAIN = 'MISSING_DOMAIN'

export interface EnvelopeAddress {
  name?: string
  /** local part; for a group start, the group name; absent for a group end */
  mailbox?: string
  host?: string
}

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

interface Parsed {
  name?: string
  address?: string
  group?: Parsed[]
}

function toAddresses(value: string | undefined): EnvelopeAddress[] {
  if (!value) return []
  const out: EnvelopeAddress[] = []
  const one = (p: Parsed) => {
    // A bare local name (`From: root`, `MAILER-DAEMON (Mail Delivery)`) is a mailbox, not a
    // display name. In an ENVELOPE a NIL host means group syntax, so it gets Dovecot's
    // placeholder host, which clients already know.
    if (!p.address && p.name) {
      const bare = /^([^\s@<>()",;:]+)(?:\s*\(.*\))?$/.exec(p.name.trim())
      if (bare) p = {address: `${bare[1]}@${MISSING_DOMAIN}`}
    }
    const at = p.address ? p.address.lastIndexOf('@') : -1
    out.push({
      ...(p.name ? {name: p.name} : {}),
      ...(p.address ? (at > 0 ? {mailbox: p.address.slice(0, at), host: p.address.slice(at + 1)} : {mailbox: p.address, host: MISSING_DOMAIN}) : {}),
    })
  }
  for (const p of addressparser(value) as Parsed[]) {
    if (p.group) {
      out.push({mailbox: p.name ?? ''}) // group start: NIL host
      p.group.forEach(one)
      out.push({}) // group end: NIL mailbox and host
    } else {
      one(p)
    }
  }
  return out
}

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
