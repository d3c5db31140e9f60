/**
 * What SORT (RFC 5256, RFC 5957) and THREAD compare, read once from a message's header: the
 * sent date, the base subject, the first address of From, To and Cc (its local part, and its
 * display form), and the Message-IDs that place it in a thread. Strings are already case-mapped
 * (i;unicode-casemap), so a sort compares them as they are. Every key object has the same
 * properties in the same order (none optional): sorting 100,000 of them then stays on V8's
 * fast path for property access.
 */
import {casemap, baseSubject, decodeWords} from './base-subject.js'
import {buildEnvelope, type EnvelopeAddress} from './envelope.js'
import {fieldValue, parseHeader} from './header.js'

export interface SortKeys {
  /** the Date header in epoch ms; undefined when missing or unreadable (SORT then uses the internal date) */
  sent: number | undefined
  /** base subject, case-mapped */
  subject: string
  /** the subject was a reply or forward's (RFC 5256 §2.1) */
  replyOrForward: boolean
  /** addr-mailbox of the first From, To, Cc address, case-mapped; '' when there is none */
  from: string
  to: string
  cc: string
  /** RFC 5957 display form of the first From and To address, case-mapped */
  displayFrom: string
  displayTo: string
  /** the Message-ID, when it is one */
  messageId: string | undefined
  /** the ancestors named by References (else the first In-Reply-To id), oldest first */
  references: string[]
  /** messageId and references as numbers of a MessageIdNumbers (-1: none), which THREAD indexes arrays by */
  messageNumber: number
  referenceNumbers: number[]
}

/**
 * Message-IDs as small numbers: THREAD=REFERENCES looks up every id of a folder, and an array
 * index is several times cheaper than a string-keyed Map (the biggest cost of threading 100,000
 * messages). Keys numbered by one table may be threaded together.
 */
export class MessageIdNumbers {
  private readonly numbers = new Map<string, number>()

  number(id: string): number {
    let n = this.numbers.get(id)
    if (n === undefined) this.numbers.set(id, (n = this.numbers.size))
    return n
  }

  get size(): number {
    return this.numbers.size
  }
}

/**
 * A copy of `s` that shares no memory with the header it was cut from: V8 keeps a substring as
 * a slice of its parent, and a cache of 100,000 keys would otherwise hold 100,000 headers.
 */
const own = (s: string): string => (s.length > 12 ? Buffer.from(s, 'utf8').toString('utf8') : s)

/** References longer than this keep their last ids: the nearest ancestors are what a thread needs */
export const MAX_REFERENCES = 256

/** a msg-id's `<left@right>` tokens, as Dovecot takes them: anything bracketed that has an @ */
function messageIds(value: string | undefined): string[] {
  if (!value) return []
  return (value.match(/<[^<>\s]+@[^<>\s]+>/g) ?? []).map(own)
}

/**
 * the first address of a list as the ENVELOPE has it: a group's start marker counts, with the
 * group name as its addr-mailbox (as Dovecot sorts `To: undisclosed-recipients:;`)
 */
function firstAddress(list: EnvelopeAddress[]): EnvelopeAddress | undefined {
  return list.find((a) => a.mailbox !== undefined)
}

const addrSpec = (a: EnvelopeAddress) => (a.host ? `${a.mailbox ?? ''}@${a.host}` : (a.mailbox ?? ''))

/** RFC 5957 §3: the decoded display name, or the addr-spec when there is none */
function displayOf(a: EnvelopeAddress | undefined): string {
  if (!a) return ''
  const name = a.name ? decodeWords(a.name).trim() : ''
  return own(casemap(name || addrSpec(a)))
}

/** The sort keys of a message, from its header block (bytes up to the blank line); its ids numbered by `ids`. */
export function sortKeysOf(header: string, ids: MessageIdNumbers): SortKeys {
  const fields = parseHeader(header)
  const envelope = buildEnvelope(fields)
  const date = envelope.date ? Date.parse(envelope.date.replace(/\([^()]*\)/g, ' ')) : NaN
  const subject = baseSubject(envelope.subject ?? '')
  const from = firstAddress(envelope.from)
  const to = firstAddress(envelope.to)
  const cc = firstAddress(envelope.cc)
  let references = messageIds(fieldValue(fields, 'references'))
  if (!references.length) references = messageIds(envelope.inReplyTo).slice(0, 1)
  if (references.length > MAX_REFERENCES) references = references.slice(-MAX_REFERENCES)
  const messageId = messageIds(envelope.messageId)[0]
  return {
    sent: Number.isFinite(date) ? date : undefined,
    subject: own(casemap(subject.text)),
    replyOrForward: subject.replyOrForward,
    from: own(casemap(from?.mailbox ?? '')),
    to: own(casemap(to?.mailbox ?? '')),
    cc: own(casemap(cc?.mailbox ?? '')),
    displayFrom: displayOf(from),
    displayTo: displayOf(to),
    messageId,
    references,
    messageNumber: messageId === undefined ? -1 : ids.number(messageId),
    referenceNumbers: references.map((r) => ids.number(r)),
  }
}
