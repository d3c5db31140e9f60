/**
 * The addresses in a submitted message's From header (RFC 5322 §3.6.2), which an authenticated
 * user may only set to addresses they may send as (their own, or an alias that delivers to
 * them): the envelope sender is checked at MAIL FROM, but the From header is what the reader
 * sees and what the DKIM signature vouches for, so without this check any user could sign a
 * colleague's From with the domain's key.
 */
import addressparser from 'nodemailer/lib/addressparser'
import {headerEnd, parseHeader} from '../mime/header.js'

interface Parsed {
  name?: string
  address?: string
  group?: Parsed[]
}

/**
 * Every address of every From field in `head` (a message's first bytes), group members
 * included; a mailbox without an address (a bare name, an empty group) comes back as its text,
 * which no user owns. No From field: an empty list.
 */
export function fromHeaderAddresses(head: Buffer): string[] {
  const text = head.subarray(0, headerEnd(head, 0, head.length)).toString('latin1')
  const out: string[] = []
  const one = (p: Parsed) => out.push((p.address ?? p.name ?? '').trim())
  for (const field of parseHeader(text)) {
    if (field.key !== 'from') continue
    const parsed = addressparser(field.value) as Parsed[]
    if (!parsed.length) out.push(field.value)
    for (const p of parsed) {
      if (p.group) {
        if (!p.group.length) out.push(p.name ?? '')
        p.group.forEach(one)
      } else one(p)
    }
  }
  return out
}
