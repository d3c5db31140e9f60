/**
 * Delivery status notifications (RFC 3464): a multipart/report with a human-readable part, a
 * message/delivery-status part (one block per failed recipient) and the original message's
 * header (text/rfc822-headers). Sent from MAILER-DAEMON with the null sender `<>`, so a bounce
 * that cannot be delivered is never bounced again.
 */
import {randomBytes} from 'node:crypto'

export interface FailedRecipient {
  address: string
  /** the remote server's reply or our reason */
  reply: string
  remoteHost?: string
  /** the attempt ended because the entry grew older than the queue lifetime */
  expired?: boolean
}

export interface DsnInput {
  hostname: string
  /** the original envelope sender: where the bounce goes */
  to: string
  arrivedAt: number
  lastAttemptAt: number
  recipients: FailedRecipient[]
  /** the original message (only its header is included) */
  original: Buffer
}

const rfc5322Date = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000')

/** `550 5.1.1 No such user` → 5.1.1; a reply without an enhanced code → 5.0.0 (5.4.7, delivery time expired) */
function statusOf(r: FailedRecipient): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(r.reply.trim())
  // a failed action carries a 5.x.x status; an expired temporary failure keeps its detail (4.4.1 → 5.4.1)
  if (m) return m[1]!.replace(/^4/, '5')
  return r.expired ? '5.4.7' : '5.0.0'
}

function originalHeader(raw: Buffer): string {
  const text = raw.subarray(0, Math.min(raw.length, 64 * 1024)).toString('latin1')
  const end = text.search(/\r?\n\r?\n/)
  return (end === -1 ? text : text.slice(0, end)).replace(/\r?\n/g, '\r\n') + '\r\n'
}

export function buildDsn(input: DsnInput): Buffer {
  const boundary = `=_mailbox_${randomBytes(8).toString('hex')}`
  const expired = input.recipients.some((r) => r.expired)
  const human = [
    `This is the mail system at host ${input.hostname}.`,
    '',
    expired
      ? 'Your message could not be delivered within the time the queue keeps trying. It was not delivered to:'
      : 'Your message could not be delivered to one or more recipients. It was not delivered to:',
    '',
    ...input.recipients.map((r) => `  <${r.address}>${r.remoteHost ? ` (host ${r.remoteHost})` : ''}: ${r.reply}`),
    '',
  ].join('\r\n')
  const perRecipient = input.recipients
    .map((r) =>
      [
        `Final-Recipient: rfc822; ${r.address}`,
        'Action: failed',
        `Status: ${statusOf(r)}`,
        ...(r.remoteHost ? [`Remote-MTA: dns; ${r.remoteHost.replace(/:\d+$/, '')}`] : []),
        `Diagnostic-Code: smtp; ${r.reply.replace(/\s+/g, ' ').trim()}`,
        `Last-Attempt-Date: ${rfc5322Date(input.lastAttemptAt)}`,
      ].join('\r\n'),
    )
    .join('\r\n\r\n')
  const status = [`Reporting-MTA: dns; ${input.hostname}`, `Arrival-Date: ${rfc5322Date(input.arrivedAt)}`, '', perRecipient, ''].join('\r\n')
  const message = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.hostname}>`,
    `To: <${input.to}>`,
    `Subject: Undelivered Mail Returned to Sender`,
    `Date: ${rfc5322Date(Date.now())}`,
    `Message-ID: <${randomBytes(10).toString('hex')}@${input.hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Description: Notification',
    '',
    human,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    'Content-Description: Delivery report',
    '',
    status,
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    'Content-Description: Undelivered message headers',
    '',
    originalHeader(input.original),
    `--${boundary}--`,
    '',
  ].join('\r\n')
  return Buffer.from(message, 'latin1')
}
