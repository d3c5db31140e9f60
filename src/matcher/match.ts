/**
 * MATCH criteria: `{"to", "from", "subject", "timeout_s", "since_s", "raw"}`. Each text field is
 * a pattern (substring, or /regex/flags); all given fields must match. `to` is tried against the
 * envelope recipients and the To/Cc addresses, `from` against the envelope sender and the From
 * header, `subject` against the decoded subject.
 */
import {compilePattern, type Pattern} from '../pattern.js'
import {MailboxError} from '../errors.js'

export interface Candidate {
  mailFrom: string
  rcptTo: string[]
  from: string
  to: string[]
  subject: string
}

export interface MatchSpec {
  test(c: Candidate): boolean
  timeoutS: number
  sinceS: number
  raw: boolean
}

const KEYS = new Set(['to', 'from', 'subject', 'timeout_s', 'since_s', 'raw'])
export const DEFAULT_TIMEOUT_S = 60
export const MAX_TIMEOUT_S = 24 * 3600
export const MAX_SINCE_S = 7 * 24 * 3600

export function compileMatch(body: unknown): MatchSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MailboxError('invalid', 'MATCH takes a JSON object')
  const b = body as Record<string, unknown>
  const unknown = Object.keys(b).filter((k) => !KEYS.has(k))
  if (unknown.length) throw new MailboxError('invalid', `unknown MATCH field(s): ${unknown.join(', ')}`)
  const pattern = (key: string): Pattern | undefined => {
    if (b[key] === undefined) return undefined
    if (typeof b[key] !== 'string') throw new MailboxError('invalid', `"${key}" must be a string`)
    return compilePattern(b[key] as string)
  }
  const seconds = (key: string, fallback: number, max: number): number => {
    const v = b[key] ?? fallback
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new MailboxError('invalid', `"${key}" must be a number of seconds from 0 to ${max}`)
    return v
  }
  if (b.raw !== undefined && typeof b.raw !== 'boolean') throw new MailboxError('invalid', '"raw" must be true or false')
  const to = pattern('to')
  const from = pattern('from')
  const subject = pattern('subject')
  return {
    test: (c) =>
      (!to || c.rcptTo.some(to) || c.to.some(to)) && (!from || from(c.mailFrom) || from(c.from)) && (!subject || subject(c.subject)),
    timeoutS: seconds('timeout_s', DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S),
    sinceS: seconds('since_s', 0, MAX_SINCE_S),
    raw: b.raw === true,
  }
}
