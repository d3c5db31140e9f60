/**
 * RFC 8460, the pure parts: the policy domain's `_smtp._tls` TXT record (§3), the report as JSON
 * (§4), its file name (§5.1) and the mail that carries it (§5.3). ./reporter.ts sends them.
 */
import {randomBytes} from 'node:crypto'
import {startOfDay, type TlsReportDay} from '../store/tls-report-rules.js'

/** more destinations than this in one record are ignored (a report is sent to each) */
export const MAX_RUA = 10

/**
 * The report destinations of the TXT answer for `_smtp._tls.DOMAIN` (each record as its
 * character-strings, as Node's resolveTxt gives them). RFC 8460 §3: records that do not start
 * with `v=TLSRPTv1` are discarded, and unless exactly one is left the domain does not take
 * reports. `rua` is a comma-separated list of URIs; only mailto: and https: ones are used.
 */
export function parseTlsRptRecord(records: string[][]): string[] | undefined {
  const ours = records.map((parts) => parts.join('')).filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r))
  if (ours.length !== 1) return undefined
  let rua: string | undefined
  for (const field of ours[0]!.split(';').slice(1)) {
    const eq = field.indexOf('=')
    if (eq > 0 && field.slice(0, eq).trim() === 'rua') rua = field.slice(eq + 1)
  }
  const uris = (rua ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => /^(mailto:[^\s]+@[^\s]+|https:\/\/[^\s]+)$/i.test(u))
  return uris.length ? uris.slice(0, MAX_RUA) : undefined
}

/** The address a `mailto:` URI names (its `?query` left out, %-escapes decoded); undefined when it names none. */
export function mailtoAddress(uri: string): string | undefined {
  try {
    const address = decodeURIComponent(uri.slice('mailto:'.length).split('?')[0]!)
    return /^[^\s@,<>]+@[^\s@,<>]+$/.test(address) ? address : undefined
  } catch {
    return undefined
  }
}

export interface ReportMeta {
  organizationName: string
  contact: string
  /** who sends it: our host name (§5.3's Submitter) */
  submitter: string
}

/** The day's report (§4.4); `report-id` is the same whenever the day is reported, so a receiver can tell a repeat. */
export function buildReport(day: TlsReportDay, meta: ReportMeta): Record<string, unknown> {
  return {
    'organization-name': meta.organizationName,
    'date-range': {'start-datetime': `${day.day}T00:00:00Z`, 'end-datetime': `${day.day}T23:59:59Z`},
    'contact-info': meta.contact,
    'report-id': reportId(day, meta.submitter),
    policies: day.policies.map((p) => ({
      policy: {
        'policy-type': p.policy.type,
        ...(p.policy.policyString ? {'policy-string': p.policy.policyString} : {}),
        'policy-domain': day.policyDomain,
        ...(p.policy.mxHost ? {'mx-host': p.policy.mxHost} : {}),
      },
      summary: {'total-successful-session-count': p.successes, 'total-failure-session-count': p.failures},
      ...(p.details.length
        ? {
            'failure-details': p.details.map((d) => ({
              'result-type': d.type,
              'receiving-mx-hostname': d.receivingMxHostname,
              ...(d.receivingIp ? {'receiving-ip': d.receivingIp} : {}),
              'failed-session-count': d.count,
              ...(d.detail ? {'failure-reason-code': d.detail} : {}),
            })),
          }
        : {}),
    })),
  }
}

export const reportId = (day: TlsReportDay, submitter: string): string => `${day.day}.${day.policyDomain}@${submitter}`

/** §5.1: sender!policy-domain!begin!end.json.gz (seconds since the epoch) */
export function reportFilename(day: TlsReportDay, submitter: string): string {
  const begin = startOfDay(day.day) / 1000
  return `${submitter}!${day.policyDomain}!${begin}!${begin + 86_399}.json.gz`
}

export interface ReportMail {
  from: string
  to: string
  submitter: string
  day: TlsReportDay
  gzipped: Buffer
  /** the Message-ID, without brackets (the reporter's signed one: ./report-mark.ts); else inject adds one */
  messageId?: string
}

/**
 * §5.3: a multipart/report (report-type "tlsrpt") with a line for people and the gzipped report
 * as an application/tlsrpt+gzip attachment; Subject and the TLS-Report-Domain and
 * TLS-Report-Submission fields name the policy domain and us. Date (and a Message-ID when none
 * is given) are added where it is queued (mailstore.inject), the DKIM signature too.
 */
export function reportMessage(mail: ReportMail): Buffer {
  const {day, submitter} = mail
  const boundary = `=_tlsrpt_${randomBytes(8).toString('hex')}`
  const base64 = mail.gzipped.toString('base64').replace(/.{1,76}/g, '$&\r\n')
  const text = [
    `This is an aggregate TLS report (RFC 8460) from ${submitter}`,
    `about the SMTP sessions to the MX hosts of ${day.policyDomain} on ${day.day} (UTC).`,
    '',
  ].join('\r\n')
  return Buffer.from(
    [
      `From: <${mail.from}>`,
      `To: <${mail.to}>`,
      `Subject: Report Domain: ${day.policyDomain} Submitter: ${submitter} Report-ID: <${reportId(day, submitter)}>`,
      `TLS-Report-Domain: ${day.policyDomain}`,
      `TLS-Report-Submission: ${submitter}`,
      ...(mail.messageId ? [`Message-ID: <${mail.messageId}>`] : []),
      'Auto-Submitted: auto-generated',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
      '',
      'This is a MIME-encapsulated message.',
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      text,
      `--${boundary}`,
      'Content-Type: application/tlsrpt+gzip',
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${reportFilename(day, submitter)}"`,
      '',
      base64 + `--${boundary}--`,
      '',
    ].join('\r\n'),
    'latin1',
  )
}
