/**
 * The messages a script's actions send back, built here and injected like any local mail (so
 * they are queued durably and DKIM-signed): the vacation reply (RFC 5230 §5, RFC 3834) and the
 * refusal notice of a `reject` that could not be given at SMTP time (RFC 5429 §2.1: a DSN,
 * built by ../queue/dsn.ts).
 */
import {randomBytes} from 'node:crypto'
import {buildDsn} from '../queue/dsn.js'
import type {VacationAction} from '../sieve/index.js'

const rfc5322Date = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000')

/** a header value on one line, bounded (message ids and subjects come from a stranger's message) */
const oneLine = (value: string, max = 998): string => value.replace(/\s+/g, ' ').trim().slice(0, max)

/** RFC 2047 B-encoding when the text is not plain ASCII */
function encodedWord(text: string): string {
  if (/^[\x20-\x7e]*$/.test(text)) return text
  return `=?UTF-8?B?${Buffer.from(text).toString('base64')}?=`
}

export interface VacationReplyInput {
  action: VacationAction
  /** the From field: the user's address, or :from when it is one of the user's */
  from: string
  hostname: string
  now?: number
}

/**
 * The reply: To the envelope sender, `Auto-Submitted: auto-replied` (RFC 3834 §5) so no other
 * responder answers it, In-Reply-To/References to the original. A `:mime` reason is a MIME
 * entity (its own header fields and body) and goes in as it is; plain text is UTF-8.
 */
export function vacationReply({action, from, hostname, now = Date.now()}: VacationReplyInput): Buffer {
  const header = [
    `From: ${from}`,
    `To: <${action.to}>`,
    `Subject: ${encodedWord(oneLine(action.subject, 500))}`,
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${hostname}>`,
    ...(action.inReplyTo ? [`In-Reply-To: ${oneLine(action.inReplyTo)}`] : []),
    ...(action.references ? [`References: ${oneLine(action.references)}`] : []),
    'Auto-Submitted: auto-replied (vacation)',
    'MIME-Version: 1.0',
  ]
  const reason = action.reason.replace(/\r?\n/g, '\r\n')
  if (action.mime) {
    const entity = mimeEntity(reason)
    return Buffer.from(`${header.join('\r\n')}\r\n${entity}${entity.endsWith('\r\n') ? '' : '\r\n'}`)
  }
  const ascii = /^[\x00-\x7f]*$/.test(reason)
  const body = ascii ? reason : (Buffer.from(reason).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
  header.push('Content-Type: text/plain; charset=utf-8', `Content-Transfer-Encoding: ${ascii ? '7bit' : 'base64'}`)
  return Buffer.from(`${header.join('\r\n')}\r\n\r\n${body}\r\n`)
}

/**
 * A `:mime` reason (RFC 5230: a MIME entity) keeps only the Content-* fields of its header: any
 * other would land in the reply's own header, a second From (past the submission check of From,
 * then DKIM-signed by us), a To, a Bcc.
 */
function mimeEntity(reason: string): string {
  const end = reason.startsWith('\r\n') ? 0 : reason.indexOf('\r\n\r\n')
  const head = end === -1 ? reason : reason.slice(0, end)
  const body = end === -1 ? '\r\n' : reason.slice(end === 0 ? 0 : end + 2)
  const fields = head.split(/\r\n(?![ \t])/).filter((f) => /^content-[!-9;-~]*[ \t]*:/i.test(f))
  return fields.map((f) => `${f}\r\n`).join('') + body
}

/** the notice to the sender that `user`'s script refused the message (with its header) */
export function rejectionNotice(input: {hostname: string; sender: string; user: string; reason: string; original: Buffer; arrivedAt: number}): Buffer {
  return buildDsn({
    hostname: input.hostname,
    to: input.sender,
    arrivedAt: input.arrivedAt,
    lastAttemptAt: input.arrivedAt,
    // the DSN is ASCII (its reply text lands in a delivery-status field)
    recipients: [{address: input.user, reply: `550 5.7.1 ${oneLine(input.reason, 500).replace(/[^\x20-\x7e]/g, '?')}`}],
    original: input.original,
  })
}
